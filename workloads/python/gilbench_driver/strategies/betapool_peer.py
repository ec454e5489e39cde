"""`adaptive-betapool`: the authors' published library itself (betapool 1.0.2,
AdaptiveThreadPoolExecutor), run as a peer of our ports, not re-implemented.

What the library does (read from its source, 1.0.2): a monitor thread wakes every
`monitor_interval_sec`; after `warmup_task_count` tasks and at most once per
`stabilization_window_sec` (counted from construction), beta > high and system CPU
(psutil.cpu_percent, the whole machine, not the point's cores) < upper -> +scale_up_step;
beta < low, or CPU > upper -> -scale_down_step. It resizes by setting the inner
ThreadPoolExecutor's `_max_workers`: growing adds threads as tasks are submitted, shrinking
only lowers the cap (idle threads never exit). The timeline therefore records both the
library's target (`target`) and the threads really alive (`threads`), sampled every interval;
`decision` is the library's own last decision in the interval (scaleUp/scaleDown/hold ->
grow/shrink/hold), `warmup` before its warm-up count, else hold (inside its stabilisation
window it decides nothing).
"""

import time

from ..kernels import _need
from ..measure import cores as core_count
from .common import Usage, record, run_task, start_feeder, top_up, usage_fields
from .elastic import Sampler, next_tick, timeline_row

# Our parameter names (harness BetapoolParams) -> the library's ControllerConfig fields.
PARAM_MAP = {
    "interval_s": "monitor_interval_sec",
    "warmup_tasks": "warmup_task_count",
    "stabilization_s": "stabilization_window_sec",
    "beta_high": "beta_high_threshold",
    "beta_low": "beta_low_threshold",
    "grow_step": "scale_up_step",
    "shrink_step": "scale_down_step",
}
DECISIONS = {"scaleUp": "grow", "scaleDown": "shrink", "hold": "hold"}


def run(pt, params):
    from .. import controllers
    from ..protocol import SpecError
    try:
        p = controllers.BetapoolController(params).p  # defaults and validation as the harness
    except controllers.InvalidParams as e:
        raise SpecError(str(e)) from None
    bp = _need("betapool", "the adaptive-betapool strategy")
    from betapool.executor import AdaptiveThreadPoolExecutor, ControllerConfig
    cfg = {lib: p[ours] for ours, lib in PARAM_MAP.items()}
    cfg["cpu_upper_threshold"] = p["cpu_high"] * 100.0
    t0 = time.perf_counter()
    ex = AdaptiveThreadPoolExecutor(min_workers=p["n_min"], max_workers=p["n_max"], config=ControllerConfig(**cfg))
    spawn_ms = (time.perf_counter() - t0) * 1e3
    inner = ex._executor

    def submit(index, at):
        pt.latch.add()
        ex.submit(run_task, pt, index, at, submit)

    cores = core_count()
    u0 = Usage()
    pt.open_window()
    initial = ex.get_current_thread_count()
    start_feeder(pt, initial, submit)
    sampler = Sampler(pt, cores)
    timeline, seen = [], 0
    interval = p["interval_s"]
    target_before = initial
    tick = next_tick(pt, pt.start, interval)
    while tick is not None:
        alive = len(getattr(inner, "_threads", ()))
        sample = sampler.next(alive, inner._work_queue.qsize())
        hist = ex.get_decision_history()
        new, seen = hist[seen:], len(hist)
        target = ex.get_current_thread_count()
        if new:
            decision = DECISIONS.get(new[-1]["decision"], new[-1]["decision"])
            beta_lib = new[-1]["blocking_ratio"]
        else:
            warm = ex._metrics_collector.total_tasks < p["warmup_tasks"]
            decision, beta_lib = ("warmup" if warm else "hold"), None
        st = {"beta_ewma": beta_lib, "decision": decision, "target": target, "vetoes": 0}
        timeline.append(timeline_row(sample, st, alive))
        top_up(pt, submit, target_before, target)  # for the library's current N
        target_before = target
        tick = next_tick(pt, tick, interval)
    u1 = Usage()
    ex._stop_event.set()
    inner.shutdown(wait=False, cancel_futures=True)
    out = record(pt, dict(spawn_ms=spawn_ms, **usage_fields(u0, u1)))
    out["timeline"] = timeline
    out["betapool_version"] = getattr(bp, "__version__", None)
    return out

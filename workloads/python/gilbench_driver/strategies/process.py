"""`process`: concurrent.futures.ProcessPoolExecutor(N), each worker its own interpreter
(its own GIL, its own copy of the kernels' state and ONNX session).

Workers are started with the `spawn` method (a fresh interpreter each, as the harness's
worker processes are; GILBENCH_MP_START=fork|forkserver picks another). The parent runs no
kernel: calibration comes from one worker. A worker that dies makes the point fail naming
the worker, its exit status and its task, never a hang (the executor breaks every future).
"""

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .. import phases
from ..measure import TaskClock, TreeMemory, Usage
from .common import Point, PointFailed, record, start_feeder, usage_fields

# ---- in the worker processes -------------------------------------------------------------------

_w = {}


def _worker_init(spec_phases, onnx_model, intra, slot_counter, slots):
    with slot_counter.get_lock():
        slot = slot_counter.value
        slot_counter.value += 1
    _w.update(slot=slot, slots=slots, plan=None, steps=None, phases=spec_phases)
    crash = os.environ.get("GILBENCH_WORKER_CRASH_AT")
    _w["crash_at"] = int(crash) if crash not in (None, "") else None
    try:
        phases.prepare(spec_phases, onnx_model, intra)
    except Exception as e:  # reported by the first task this worker runs
        _w["init_error"] = f"{type(e).__name__}: {e}" if not hasattr(e, "args") or not e.args else str(e.args[0])


def _check_init():
    if "init_error" in _w:
        from ..protocol import SpecError
        raise SpecError(_w["init_error"])


def _ready():
    _check_init()
    return os.getpid()


def _calibrate():
    _check_init()
    return phases.calibrate_all(_w["phases"])


def _task(plan, seed, index, queued_at):
    if _w["plan"] is not plan and _w["plan"] != plan:
        _w["plan"], _w["steps"] = plan, phases.bind(plan)
    slots, s = _w["slots"], 2 * _w["slot"]
    slots[s], slots[s + 1] = os.getpid(), index
    if _w["crash_at"] == index:
        os._exit(3)  # test hook: a worker dying mid-task
    clk = TaskClock()
    phases.run_task(_w["steps"], seed, index)
    end, wall, cpu, rq = clk.stop()
    slots[s + 1] = -1
    return end, wall, cpu, rq


# ---- in the driver ---------------------------------------------------------------------------

BROKEN = "broken process pool"


def _release_semaphores():
    """Unlinks the named semaphores this process created (the slot counter's lock) once the
    workers hold them: the driver ends with os._exit, which skips multiprocessing's cleanup,
    and the resource tracker would then warn about a leak."""
    from multiprocessing import util
    for f in list(getattr(util, "_finalizer_registry", {}).values()):
        cb = getattr(f, "_callback", None)
        if getattr(cb, "__name__", "") == "_cleanup" and "SemLock" in getattr(cb, "__qualname__", ""):
            try:
                f()
            except Exception:
                pass

def _await_workers(ex, counter, n, timeout_s=60.0):
    """Returns once all n workers have run their initializer. One worker can serve several
    of the first tasks while another is still starting, and a spawned worker opens the
    counter's named semaphore only when it unpickles its arguments, after start() returned:
    unlinking it before then (`_release_semaphores`) killed that worker with FileNotFoundError."""
    deadline = time.monotonic() + timeout_s
    while counter.value < n:
        dead = any(p.exitcode is not None for p in _procs(ex).values())
        if dead or time.monotonic() > deadline:
            raise BrokenProcessPool("a worker did not start")
        time.sleep(0.005)


def run(spec):
    n = spec.threads
    method = os.environ.get("GILBENCH_MP_START", "spawn")
    ctx = mp.get_context(method)
    slot_counter = ctx.Value("i", 0)
    slots = ctx.RawArray("q", [-1] * (2 * n))
    t0 = time.perf_counter()
    ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init,
                             initargs=(spec.phases, spec.onnx_model, spec.intra_op_threads, slot_counter, slots))
    # With spawn, 3.11+ starts workers one per submit and only while none is idle, so fewer
    # than N may start (and later ones after the window opened). Ask for all N at the first
    # submit, as it does for fork.
    if hasattr(ex, "_safe_to_dynamically_spawn_children"):
        ex._safe_to_dynamically_spawn_children = False
    try:
        for f in [ex.submit(_ready) for _ in range(n)]:
            f.result()
        _await_workers(ex, slot_counter, n)
        spawn_ms = (time.perf_counter() - t0) * 1e3
        calibration = ex.submit(_calibrate).result()
        _release_semaphores()
    except BrokenProcessPool:
        raise PointFailed(_death_message(ex, slots, "while starting")) from None
    plan = phases.make_plan(spec.phases, calibration)
    pt = Point(spec, None, calibration)
    pt.plan = plan

    def pids():
        return list(_procs(ex))

    def done(index, queued_at, fut):
        try:
            exc = fut.exception()
            if exc is not None:
                if isinstance(exc, BrokenProcessPool):
                    # Named by the main thread: this callback runs on the executor's own
                    # thread, which must not be made to wait on the executor.
                    pt.latch.fail(BROKEN)
                else:
                    pt.latch.fail(f"task {index} failed in a worker: {type(exc).__name__}: {exc}")
                return
            end, wall, cpu, rq = fut.result()
            if pt.in_window(end):
                pt.totals.record(end, wall, cpu, rq, queued_at)
            if pt.refill():
                submit(next(pt.next_index), time.perf_counter())
        finally:
            pt.latch.done()

    def submit(index, at):
        pt.latch.add()
        try:
            fut = ex.submit(_task, plan, spec.seed, index, at)
        except (BrokenProcessPool, RuntimeError):
            pt.latch.done()
            pt.latch.fail(BROKEN)
            return
        fut.add_done_callback(lambda f, i=index, q=at: done(i, q, f))

    mem = TreeMemory(pids).start()
    u0 = Usage(pids())
    pt.open_window()
    start_feeder(pt, n, submit)
    try:
        pt.latch.wait_until(pt.deadline)
    except PointFailed as e:
        if str(e) == BROKEN:
            raise PointFailed(_death_message(ex, slots, "")) from None
        _kill(ex)
        raise
    finally:
        mem.stop()
    u1 = Usage(pids())
    if pt.deadline is not None:
        _kill(ex)
    out = record(pt, dict(spawn_ms=spawn_ms, **usage_fields(u0, u1)))
    out["peak_rss_mb"] = mem.peak_rss_kb / 1024.0
    out["pss_mb"] = mem.peak_pss_kb / 1024.0 if mem.peak_pss_kb else None
    if pt.deadline is None:
        ex.shutdown(wait=True)
    return out


def _procs(ex):
    """The executor's worker processes by pid (a private attribute; {} once it is gone)."""
    return getattr(ex, "_processes", {}) or {}


def _death_message(ex, slots, context):
    """Names the dead worker(s): pid, how it ended, and the task it was running."""
    dead, stopped = [], []
    procs = dict(_procs(ex))
    time.sleep(0.05)  # let the executor reap: exitcode is set once the process is joined
    running = {slots[i]: slots[i + 1] for i in range(0, len(slots), 2) if slots[i] > 0}
    for w, (pid, p) in enumerate(sorted(procs.items())):
        code = p.exitcode
        if code is not None and code != 0:
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            task = running.get(pid, -1)
            where = f"while running task {task}" if task >= 0 else "between tasks"
            # The executor SIGTERMs the others once one is gone: name the first cause.
            (stopped if code == -15 else dead).append(f"worker {w} (pid {pid}) died: {how}, {where}")
    dead = dead or stopped
    if not dead:
        dead.append("a worker process died (exit status unknown)")
    _kill(ex)
    return "; ".join(dead) + (f" {context}" if context else "") + "; the process pool is broken, all workers stopped"


def _kill(ex):
    for p in list(_procs(ex).values()):
        try:
            p.kill()
        except Exception:
            pass
    try:
        ex.shutdown(wait=False, cancel_futures=True)
    except Exception:
        pass

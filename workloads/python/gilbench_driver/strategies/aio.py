"""`async`: one asyncio event loop with N coroutines consuming a queue (N tasks in flight).

`io` is `asyncio.sleep`; `cpu` and `native` phases run on the loop and block it, as sync code
called from a coroutine does, unless `offload_native` sends native phases to
`loop.run_in_executor` on a pool of min(32, cores + 4) threads (Python's default size).

Per-task measures (as harness/src/strategy/async_loop.rs): wall is task start to end; CPU
and run-queue wait are summed over the task's own synchronous stretches on the loop thread
(plus, when offloaded, the executor function's own deltas), so the CPU of other tasks
interleaved on the loop is never charged to it.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from .. import phases
from ..measure import Rng, cores, runq_ns, sample_ms, task_seed
from .common import PointFailed, Usage, feed, record, usage_fields


def _offloaded(fn, units):
    c0, r0 = time.thread_time_ns(), runq_ns()
    fn(units)
    return time.thread_time_ns() - c0, runq_ns() - r0


def run(pt, offload_native):
    spec = pt.spec
    n = spec.threads
    state = {}

    async def one(index, queued_at):
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        c0, r0 = time.thread_time_ns(), runq_ns()
        cpu = rq = 0
        rng = Rng(task_seed(spec.seed, index))
        held = []
        for kind, a, units in pt.steps:
            if kind == "io" or (kind == "native" and offload_native):
                cpu += time.thread_time_ns() - c0
                rq += runq_ns() - r0
                if kind == "io":
                    await asyncio.sleep(sample_ms(a, rng) / 1000.0)
                else:
                    dc, dr = await loop.run_in_executor(state["pool"], _offloaded, a, units)
                    cpu, rq = cpu + dc, rq + dr
                c0, r0 = time.thread_time_ns(), runq_ns()
            elif kind == "alloc":
                held.append(phases.touched(a))
            else:
                a(units)
        del held
        cpu += time.thread_time_ns() - c0
        rq += runq_ns() - r0
        end = time.perf_counter()
        if pt.in_window(end):
            pt.totals.record(end, end - t0, cpu / 1e9, max(0, rq) / 1e9, queued_at)

    async def worker(q):
        while True:
            index, at = await q.get()
            try:
                await one(index, at)
            except Exception as e:
                state["failure"] = f"task {index} failed: {type(e).__name__}: {e}"
                state["done"].set()
                return
            state["pending"] -= 1
            if pt.refill():
                submit(next(pt.next_index), time.perf_counter())
            if state["pending"] == 0 and state["fed"]:
                state["done"].set()

    def submit(index, at):
        state["pending"] += 1
        pt.latch.add()  # counts submissions (tasks_unfinished); the loop tracks its own
        state["q"].put_nowait((index, at))

    async def main():
        t0 = time.perf_counter()
        state.update(q=asyncio.Queue(), pending=0, fed=False, done=asyncio.Event())
        if offload_native:
            state["pool"] = ThreadPoolExecutor(max_workers=min(32, cores() + 4))
        workers = [asyncio.ensure_future(worker(state["q"])) for _ in range(n)]
        await asyncio.sleep(0)  # let every coroutine start and block on the queue
        state["spawn_ms"] = (time.perf_counter() - t0) * 1e3
        state["u0"] = Usage()
        pt.open_window()
        if spec.arrival[0] == "batch":
            feed(pt, n, submit)
        else:
            asyncio.ensure_future(_open_loop(pt, submit, state))
        if spec.arrival[0] == "batch":
            state["fed"] = True
            if state["pending"] == 0:
                state["done"].set()
        timeout = None if pt.deadline is None else max(0.0, pt.deadline - time.perf_counter())
        try:
            await asyncio.wait_for(state["done"].wait(), timeout)
        except asyncio.TimeoutError:
            pass
        state["u1"] = Usage()
        for w in workers:
            w.cancel()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        pool = state.get("pool")
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    if "failure" in state:
        raise PointFailed(state["failure"])
    return record(pt, dict(spawn_ms=state["spawn_ms"], **usage_fields(state["u0"], state["u1"])))


async def _open_loop(pt, submit, state):
    """Open-loop arrivals from the loop itself (asyncio.sleep between bursts)."""
    spec = pt.spec
    _, rate, burst = spec.arrival
    rng = Rng(spec.seed ^ 0xA5A55A5A)
    mean_gap = burst / max(rate, 1e-9)
    due, i = 0.0, 0
    count = spec.budget[1] if spec.budget[0] == "count" else None
    while (i < count) if count is not None else (due < spec.budget[1]):
        at = pt.start + due
        wait = at - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        last = min(i + burst, count) if count is not None else i + burst
        for _ in range(i, last):
            submit(next(pt.next_index), at)
        i = last
        due += rng.exponential(mean_gap)
    state["fed"] = True
    if state["pending"] == 0:
        state["done"].set()

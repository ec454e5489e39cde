"""`fixed`: concurrent.futures.ThreadPoolExecutor(N), the pool the paper measures."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .common import Usage, record, run_task, start_feeder, usage_fields


def run(pt):
    n = pt.spec.threads
    # ThreadPoolExecutor starts threads lazily, one per submit; start all N before the window
    # (as the harness does) by parking N jobs on a barrier.
    t0 = time.perf_counter()
    ex = ThreadPoolExecutor(max_workers=n, thread_name_prefix="worker")
    barrier = threading.Barrier(n + 1)
    for _ in range(n):
        ex.submit(barrier.wait)
    barrier.wait()
    spawn_ms = (time.perf_counter() - t0) * 1e3

    def submit(index, at):
        pt.latch.add()
        ex.submit(run_task, pt, index, at, submit)

    u0 = Usage()
    pt.open_window()
    start_feeder(pt, n, submit)
    pt.latch.wait_until(pt.deadline)
    u1 = Usage()
    # Unfinished work is abandoned: the driver exits with os._exit after writing its record.
    ex.shutdown(wait=False, cancel_futures=True)
    return record(pt, dict(spawn_ms=spawn_ms, **usage_fields(u0, u1)))

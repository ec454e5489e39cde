"""`fixed`: concurrent.futures.ThreadPoolExecutor(N), the pool the paper measures."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .common import Usage, feed, record, usage_fields


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

    def job(index, queued_at):
        try:
            pt.run_one(index, queued_at)
            if pt.refill():
                submit(next(pt.next_index), time.perf_counter())
        except BaseException as e:  # a broken kernel must end the point, not hang it
            pt.latch.fail(f"task {index} failed: {type(e).__name__}: {e}")
        finally:
            pt.latch.done()

    def submit(index, at):
        pt.latch.add()
        ex.submit(job, index, at)

    u0 = Usage()
    pt.open_window()
    pt.latch.add(task=False)  # the feeder's own count: empty only once every arrival has finished
    feeder = threading.Thread(target=_feed_then_done, args=(pt, n, submit), name="feeder", daemon=True)
    feeder.start()
    pt.latch.wait_until(pt.deadline)
    u1 = Usage()
    # Unfinished work is abandoned: the driver exits with os._exit after writing its record.
    ex.shutdown(wait=False, cancel_futures=True)
    return record(pt, dict(spawn_ms=spawn_ms, **usage_fields(u0, u1)))


def _feed_then_done(pt, n, submit):
    try:
        feed(pt, n, submit)
    finally:
        pt.latch.done()

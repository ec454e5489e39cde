"""What every strategy shares: the arrival feed, the latch that says when a point is done,
the per-task wrapper, and the output record (harness/src/strategy/feed.rs semantics)."""

import itertools
import os
import signal
import threading
import time

from .. import phases
from ..measure import Rng, TaskClock, Totals, Usage, vm_hwm_mb


class PointFailed(Exception):
    """A task or a worker failed: the point is an error with this message."""


class Latch:
    """Counts tasks in flight; `wait` returns when all have finished or a failure is set."""

    def __init__(self):
        self.cv = threading.Condition()
        self.pending = 0
        self.submitted = 0
        self.failure = None

    def add(self, n=1, task=True):
        """`n` more in flight; `task=False` for a feeder's own count (not a task)."""
        with self.cv:
            self.pending += n
            if task:
                self.submitted += n

    def done(self):
        with self.cv:
            self.pending -= 1
            if self.pending <= 0:
                self.cv.notify_all()

    def fail(self, msg):
        with self.cv:
            if self.failure is None:
                self.failure = msg
            self.cv.notify_all()

    def wait_until(self, deadline=None):
        """Until nothing is pending, a failure, or `deadline` (perf_counter seconds)."""
        with self.cv:
            while self.pending > 0 and self.failure is None:
                if deadline is None:
                    self.cv.wait()
                else:
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        break
                    self.cv.wait(left)
            if self.failure is not None:
                raise PointFailed(self.failure)


# GILBENCH_DRIVER_CRASH_AT=<task index>: kill the whole driver there (tests only).
_CRASH_AT = int(os.environ.get("GILBENCH_DRIVER_CRASH_AT", "-1") or -1)


class Point:
    """A point being run: the spec, its compiled plan, the window and the running totals."""

    def __init__(self, spec, plan, calibration):
        self.spec = spec
        self.plan = plan
        self.steps = phases.bind(plan) if plan is not None else None
        self.calibration = calibration
        self.totals = Totals()
        self.latch = Latch()
        self.next_index = itertools.count()
        self.start = None
        self.deadline = None
        self.closed_loop = spec.budget[0] == "duration" and spec.arrival[0] == "batch"

    def open_window(self):
        self.start = time.perf_counter()
        if self.spec.budget[0] == "duration":
            self.deadline = self.start + self.spec.budget[1]
        return self.start

    def refill(self):
        """Closed loop with a time budget: a finished task is replaced while time remains."""
        return self.closed_loop and time.perf_counter() < self.deadline

    def in_window(self, end):
        return self.deadline is None or end <= self.deadline

    def run_one(self, index, queued_at):
        """One task on the calling thread, measured (threads of a pool)."""
        if index == _CRASH_AT:
            # Test hook: the driver dies mid-point, as a segfaulting extension would.
            os.kill(os.getpid(), signal.SIGKILL)
        clk = TaskClock()
        phases.run_task(self.steps, self.spec.seed, index)
        end, wall, cpu, rq = clk.stop()
        if self.in_window(end):
            self.totals.record(end, wall, cpu, rq, queued_at)


def feed(pt, initial_threads, submit):
    """Submits tasks with `submit(index, arrival_time)` from the calling thread, following
    the arrival process: batch (all at once; with a time budget a population of 2N + 16 that
    the strategy refills), or open loop (bursts of B at exponential gaps, mean rate R)."""
    spec = pt.spec
    start = pt.start
    if spec.arrival[0] == "batch":
        n = spec.budget[1] if spec.budget[0] == "count" else 2 * initial_threads + 16
        for _ in range(n):
            submit(next(pt.next_index), start)
        return
    _, rate, burst = spec.arrival
    rng = Rng(spec.seed ^ 0xA5A55A5A)
    mean_gap = burst / max(rate, 1e-9)
    due = 0.0
    i = 0
    while True:
        if spec.budget[0] == "count":
            if i >= spec.budget[1]:
                break
        elif due >= spec.budget[1]:
            break
        at = start + due
        wait = at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        last = min(i + burst, spec.budget[1]) if spec.budget[0] == "count" else i + burst
        for _ in range(i, last):
            submit(next(pt.next_index), at)
        i = last
        due += rng.exponential(mean_gap)


def run_task(pt, index, queued_at, submit):
    """One task on a pool thread; in a closed loop its replacement is submitted."""
    try:
        pt.run_one(index, queued_at)
        if pt.refill():
            submit(next(pt.next_index), time.perf_counter())
    except BaseException as e:  # a broken kernel must end the point, not hang it
        pt.latch.fail(f"task {index} failed: {type(e).__name__}: {e}")
    finally:
        pt.latch.done()


def start_feeder(pt, initial_threads, submit):
    """Runs `feed` on its own thread. The latch counts the feeder too, so it empties only
    once every arrival has finished."""
    pt.latch.add(task=False)

    def feeder():
        try:
            feed(pt, initial_threads, submit)
        finally:
            pt.latch.done()

    threading.Thread(target=feeder, name="feeder", daemon=True).start()


def top_up(pt, submit, before, after):
    """A closed loop keeps 2N + 16 tasks in the system: a pool grown from `before` to
    `after` threads gets two more per new thread."""
    if pt.spec.arrival[0] == "batch" and after > before and pt.refill():
        for _ in range(2 * (after - before)):
            submit(next(pt.next_index), time.perf_counter())


def record(pt, ok_fields):
    """The output record from a finished window (fields common to every strategy)."""
    t = pt.totals
    with t.lock:
        tasks = t.tasks
        service, response = list(t.service_us), list(t.response_us)
        ends = list(t.ends)
        beta = t.sum_beta / tasks if tasks else None
        runq = min(1.0, t.sum_runq / t.sum_wall) if t.sum_wall > 0 else None
        last_end = t.last_end
    if pt.deadline is not None:
        elapsed = pt.deadline - pt.start
    else:
        elapsed = (last_end - pt.start) if last_end is not None else 0.0
    out = {
        "ok": True,
        "tasks": tasks,
        "tasks_unfinished": max(0, pt.latch.submitted - tasks) if pt.deadline is not None else 0,
        "elapsed_s": max(elapsed, 0.0),
        "service_us": service,
        "response_us": response,
        "end_ms": [max(0, int((e - pt.start) * 1000)) for e in ends] if pt.start is not None else [],
        "beta_mean": beta,
        "lock_wait_frac": None,
        "runq_wait_frac": runq,
        "calibration": [{"kernel": c["kernel"], "phase": c["phase"], "units_per_us": c["units_per_us"]}
                        for c in pt.calibration],
        "timeline": [],
        "peak_rss_mb": vm_hwm_mb(),
        "pss_mb": None,
    }
    out.update(ok_fields)
    return out


def usage_fields(u0, u1):
    return {
        "cpu_s": max(0.0, u1.cpu - u0.cpu),
        "ctx_voluntary": max(0, u1.vol - u0.vol),
        "ctx_involuntary": max(0, u1.invol - u0.invol),
    }


__all__ = ["Latch", "Point", "PointFailed", "feed", "record", "run_task", "start_feeder", "top_up", "usage_fields", "Usage"]

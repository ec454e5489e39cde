"""Elastic pools (`queue-scaler`, `adaptive-paper`, `adaptive`): a resizable thread pool
(harness/src/strategy/pool.rs: one FIFO queue; a worker that finds more workers alive than
the target exits before taking a job, so shrinking never interrupts a task) re-sized every
controller interval from a Sample of that interval (harness/src/strategy/threads.rs)."""

import collections
import threading
import time

from .. import controllers
from ..measure import cores as core_count
from ..measure import MemoryWatch, interval_stats
from .common import Usage, record, run_task, start_feeder, top_up, usage_fields


class ResizablePool:
    def __init__(self, work):
        self.work = work
        self.cv = threading.Condition()
        self.jobs = collections.deque()
        self.idle = 0
        self.live = 0
        self.target = 0
        self.closed = False
        self.spawned = 0

    def push(self, job):
        with self.cv:
            self.jobs.append(job)
            if self.idle:
                self.cv.notify()

    def queue_len(self):
        with self.cv:
            return len(self.jobs)

    def resize(self, n):
        with self.cv:
            self.target = n
            grow = max(0, n - self.live)
            self.live += grow
            if grow == 0:
                self.cv.notify_all()  # idle workers wake to see whether they are too many
        for _ in range(grow):
            self.spawned += 1
            threading.Thread(target=self._worker, name=f"worker-{self.spawned}", daemon=True).start()

    def _pop(self):
        with self.cv:
            while True:
                if self.live > self.target:
                    self.live -= 1
                    return None
                if self.jobs:
                    return self.jobs.popleft()
                if self.closed:
                    return None
                self.idle += 1
                self.cv.wait()
                self.idle -= 1

    def _worker(self):
        while True:
            job = self._pop()
            if job is None:
                return
            self.work(job)

    def abandon(self):
        with self.cv:
            self.jobs.clear()
            self.closed = True
            self.cv.notify_all()


class Sampler:
    """Turns running totals into one Sample per interval (harness/src/controller/sampler.rs)."""

    def __init__(self, pt, cores):
        self.pt = pt
        self.cores = cores
        self.tick = pt.start
        self.before = pt.totals.snapshot()
        self.usage = Usage()
        self.memory = MemoryWatch()

    def next(self, threads, queue_len):
        now, usage, snap = time.perf_counter(), Usage(), self.pt.totals.snapshot()
        secs = max(now - self.tick, 1e-9)
        completed, beta, runq = interval_stats(snap, self.before)
        cpu_s = usage.cpu - self.usage.cpu
        self.before, self.usage, self.tick = snap, usage, now
        return {
            "t_s": now - self.pt.start, "interval_s": secs, "threads": threads, "queue_len": queue_len,
            "completed": completed, "beta": beta, "lock_wait_frac": None, "runq_wait_frac": runq,
            "cpu_util": min(cpu_s / (secs * self.cores), 1.0), "cores": self.cores,
            "memory_frac": self.memory.used_frac(),
        }


def next_tick(pt, tick, interval):
    """Waits one controller interval from `tick` (or to the deadline): the new tick, or None
    once the point is over."""
    nxt = tick + interval
    pt.latch.wait_until(nxt if pt.deadline is None else min(pt.deadline, nxt))
    tick = time.perf_counter()
    with pt.latch.cv:
        pending = pt.latch.pending
    if pending <= 0 or (pt.deadline is not None and tick >= pt.deadline):
        return None
    return tick


def timeline_row(sample, st, threads):
    return {
        "t_s": sample["t_s"], "threads": threads, "tps": sample["completed"] / sample["interval_s"],
        "beta": sample["beta"], "beta_ewma": st["beta_ewma"], "lock_wait_frac": None,
        "runq_wait_frac": sample["runq_wait_frac"], "queue_len": sample["queue_len"],
        "cpu_util": sample["cpu_util"], "decision": st["decision"], "target": st["target"],
        "vetoes": st["vetoes"], "memory_frac": sample["memory_frac"],
    }


def run(pt, name, params):
    try:
        ctl = controllers.build(name, params)
    except controllers.InvalidParams as e:
        from ..protocol import SpecError
        raise SpecError(str(e)) from None
    cores = core_count()
    size = max(1, ctl.initial_threads(cores))

    pool = ResizablePool(lambda job: run_task(pt, *job, submit))

    def submit(index, at):
        pt.latch.add()
        pool.push((index, at))

    t0 = time.perf_counter()
    pool.resize(size)
    spawn_ms = (time.perf_counter() - t0) * 1e3
    u0 = Usage()
    pt.open_window()
    start_feeder(pt, size, submit)
    timeline = []
    sampler = Sampler(pt, cores)
    interval = max(ctl.interval_s(), 0.01)
    tick = next_tick(pt, pt.start, interval)
    while tick is not None:
        sample = sampler.next(size, pool.queue_len())
        st = ctl.decide(sample)
        timeline.append(timeline_row(sample, st, size))
        target = max(1, st["target"])
        if target != size:
            pool.resize(target)
            top_up(pt, submit, size, target)
            size = target
        tick = next_tick(pt, tick, interval)
    u1 = Usage()
    pool.abandon()
    out = record(pt, dict(spawn_ms=spawn_ms, **usage_fields(u0, u1)))
    out["timeline"] = timeline
    return out

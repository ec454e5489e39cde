"""Measurements: per-task clocks, process usage, memory of the process tree, and the seeded
generator (a port of workloads/src/rng.rs, so I/O latencies follow the same draws)."""

import math
import os
import resource
import threading
import time

MASK64 = 0xFFFFFFFFFFFFFFFF
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- per thread: run-queue wait from /proc/thread-self/schedstat (2nd field, ns) -------------

_local = threading.local()


def runq_ns():
    fd = getattr(_local, "fd", None)
    if fd is None:
        try:
            fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            fd = -1
        _local.fd = fd
    if fd < 0:
        return 0
    try:
        return int(os.pread(fd, 96, 0).split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def schedstat_available():
    return os.path.exists("/proc/thread-self/schedstat")


class TaskClock:
    """Wall, thread CPU and run-queue wait around one task. The end reads in the reverse
    order of the start, wall clock last: each read is a syscall and so a preemption point,
    and a wait between two reads must fall inside the wall time (as the Rust side does)."""

    __slots__ = ("t0", "cpu0", "rq0")

    def __init__(self):
        self.t0 = time.perf_counter()
        self.cpu0 = time.thread_time_ns()
        self.rq0 = runq_ns()

    def stop(self):
        cpu = time.thread_time_ns() - self.cpu0
        rq = runq_ns() - self.rq0
        end = time.perf_counter()
        return end, end - self.t0, cpu / 1e9, max(0, rq) / 1e9


# ---- results of tasks ------------------------------------------------------------------------

class Totals:
    """Running sums over completed tasks (appended from many threads: each update is done
    under a lock so that a controller can take a consistent snapshot)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks = 0
        self.sum_beta = 0.0
        self.sum_wall = 0.0
        self.sum_runq = 0.0
        self.service_us = []
        self.response_us = []
        # When each task ended (perf_counter), beside service_us: the harness takes the
        # P99 of the steady window from these once it knows when the pool settled.
        self.ends = []
        self.last_end = None

    def record(self, end, wall, cpu, runq, queued_at):
        beta = min(1.0, max(0.0, 1.0 - cpu / wall)) if wall > 0 else 0.0
        with self.lock:
            self.tasks += 1
            self.sum_beta += beta
            self.sum_wall += wall
            self.sum_runq += runq
            self.service_us.append(int(wall * 1e6))
            self.ends.append(end)
            self.response_us.append(int((end - queued_at) * 1e6))
            if self.last_end is None or end > self.last_end:
                self.last_end = end

    def snapshot(self):
        with self.lock:
            return (self.tasks, self.sum_beta, self.sum_wall, self.sum_runq)


def interval_stats(now, before):
    """(completed, beta mean, runq wait frac) between two snapshots."""
    n = now[0] - before[0]
    if n <= 0:
        return 0, None, None
    wall = now[2] - before[2]
    runq = (now[3] - before[3]) / wall if wall > 0 else None
    return n, (now[1] - before[1]) / n, (min(1.0, max(0.0, runq)) if runq is not None else None)


# ---- process usage -------------------------------------------------------------------------

def proc_cpu_s(pid):
    """utime + stime of a process from /proc/<pid>/stat (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


def proc_status(pid, keys):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return out


def proc_pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Usage:
    """CPU and context switches of this process (all its threads, via getrusage) plus the
    given child processes (from /proc), at one instant."""

    def __init__(self, children=()):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu = ru.ru_utime + ru.ru_stime
        self.vol = ru.ru_nvcsw
        self.invol = ru.ru_nivcsw
        for pid in children:
            self.cpu += proc_cpu_s(pid)
            st = proc_status(pid, ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
            self.vol += st.get("voluntary_ctxt_switches", 0)
            self.invol += st.get("nonvoluntary_ctxt_switches", 0)


def vm_hwm_mb():
    return proc_status("self", ("VmHWM",)).get("VmHWM", 0) / 1024.0


class TreeMemory:
    """Peak of the RSS (and PSS) summed over this process and `pids()`, sampled every 100 ms
    on a daemon thread (process pools: each worker is its own interpreter)."""

    def __init__(self, pids, every_s=0.1):
        self.pids = pids
        self.every_s = every_s
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="tree-memory", daemon=True)

    def start(self):
        self.sample()
        self.thread.start()
        return self

    def sample(self):
        pids = ["self"] + list(self.pids())
        rss = sum(proc_status(p, ("VmRSS",)).get("VmRSS", 0) for p in pids)
        pss = sum(proc_pss_kb(p) for p in pids)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def _loop(self):
        while not self.stop_ev.wait(self.every_s):
            self.sample()

    def stop(self):
        self.sample()
        self.stop_ev.set()


class MemoryWatch:
    """The tightest cgroup memory limit over this process's cgroups, v1 or v2, and that
    cgroup's usage (harness/src/limits/own.rs)."""

    UNLIMITED = 1 << 60

    def __init__(self):
        self.usage, self.limit = None, None
        try:
            with open("/proc/self/mountinfo") as f:
                mounts = [line.split(" - ") for line in f.read().splitlines() if " - " in line]
            with open("/proc/self/cgroup") as f:
                own = [line.split(":", 2) for line in f.read().splitlines()]
        except OSError:
            return
        for left, right in mounts:
            left, right = left.split(" "), right.split(" ")
            fstype, opts = right[0], (right[2] if len(right) > 2 else "").split(",")
            root, point = left[3], left[4]
            if fstype == "cgroup2":
                member = next((m[2] for m in own if len(m) == 3 and m[1] == ""), None)
                files = ("memory.max", "memory.current")
            elif fstype == "cgroup" and "memory" in opts:
                member = next((m[2] for m in own if len(m) == 3 and "memory" in m[1].split(",")), None)
                files = ("memory.limit_in_bytes", "memory.usage_in_bytes")
            else:
                continue
            if member is None or ".." in member.split("/"):
                continue
            rel = member[len(root):] if root != "/" and member.startswith(root) else member
            d = os.path.join(point, rel.lstrip("/"))
            while d.startswith(point):
                self._consider(d, *files)
                if d == point:
                    break
                d = os.path.dirname(d)

    def _consider(self, d, limit_file, usage_file):
        try:
            with open(os.path.join(d, limit_file)) as f:
                limit = int(f.read().strip())
        except (OSError, ValueError):
            return
        usage = os.path.join(d, usage_file)
        if 0 < limit < self.UNLIMITED and (self.limit is None or limit < self.limit) and os.path.exists(usage):
            self.usage, self.limit = usage, limit

    def used_frac(self):
        if self.limit is None:
            return None
        try:
            with open(self.usage) as f:
                return int(f.read().strip()) / self.limit
        except (OSError, ValueError):
            return None


def cores():
    """Cores this process may use (the cgroup's cpuset shows in the affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# ---- seeded draws: SplitMix64, as workloads/src/rng.rs -------------------------------------

class Rng:
    __slots__ = ("s",)

    def __init__(self, seed):
        self.s = seed & MASK64

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_f64(self):
        """Uniform in (0, 1]."""
        return ((self.next_u64() >> 11) + 1) / float(1 << 53)

    def standard_normal(self):
        u1, u2 = self.next_f64(), self.next_f64()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def exponential(self, mean):
        return -mean * math.log(self.next_f64())


def task_seed(point_seed, i):
    """As harness/src/strategy/feed.rs: a task's draws do not depend on which thread runs it."""
    return (point_seed ^ ((i * 0x9E3779B97F4A7C15) & MASK64)) & MASK64


def sample_ms(latency, rng):
    kind = latency[0]
    if kind == "fixed":
        return latency[1]
    if kind == "uniform":
        return latency[1] + (latency[2] - latency[1]) * rng.next_f64()
    return latency[1] * math.exp(latency[2] * rng.standard_normal())

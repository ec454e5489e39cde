"""Python ports, decision for decision, of harness/src/controller/{paper,queue,betapool,ours}.rs.

Pure functions of samples, no clocks. Rust semantics that differ from Python's and matter
for identical decisions are spelled out: `f64::round` rounds half away from zero (Python's
round() rounds half to even), float -> u32 casts saturate (NaN -> 0), u32 arithmetic
saturates. Samples are dicts with the fields of the Rust `Sample` (missing or null
optional fields are None).

CLI (`driver.py decide`): Sample JSON lines in, one decision JSON line out per sample.
"""

import json
import math
import sys

U32_MAX = 0xFFFFFFFF


# ---- Rust helpers ------------------------------------------------------------------------------

def rround(x):
    """f64::round: half away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def halfway(a, b):
    """The thread count halfway between a and b on a log scale (ours.rs `halfway`)."""
    return as_u32(rround(math.sqrt(float(a) * float(b))))


def as_u32(x):
    """`x as u32` for an f64: saturating, NaN -> 0."""
    if x != x:
        return 0
    if x <= 0:
        return 0
    if x >= U32_MAX:
        return U32_MAX
    return int(x)


def sat_add(a, b):
    return min(a + b, U32_MAX)


def sat_sub(a, b):
    return max(a - b, 0)


def clamp(x, lo, hi):
    return max(lo, min(x, hi))


def frac(x):
    """A measured fraction made safe: None for None/NaN/inf, else clamped to 0..=1."""
    if x is None or not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return None
    return min(1.0, max(0.0, float(x)))


def bounds(n_min, n_max):
    lo = max(n_min, 1)
    return lo, max(n_max, lo)


def _finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class InvalidParams(ValueError):
    pass


def _check(ok, controller, field, expected):
    if not ok:
        raise InvalidParams(f"controller `{controller}`: parameter `{field}` must be {expected}")


def _params(name, defaults, given):
    """Defaults overridden by `given`; unknown fields are errors (serde deny_unknown_fields)."""
    given = given or {}
    if not isinstance(given, dict):
        raise InvalidParams(f"controller `{name}`: parameters must be an object")
    p = dict(defaults)
    for k, v in given.items():
        if k not in defaults:
            raise InvalidParams(f"controller `{name}`: unknown parameter `{k}`; expected one of {', '.join(defaults)}")
        want_int = isinstance(defaults[k], int)
        if want_int and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise InvalidParams(f"controller `{name}`: parameter `{k}` must be a non-negative integer")
        if not want_int and not _finite(v):
            raise InvalidParams(f"controller `{name}`: parameter `{k}` must be a number")
        p[k] = float(v) if not want_int else int(v)
    return p


class Step(dict):
    """{"target", "decision", "beta_ewma", "vetoes"}."""


def step(target, decision, beta_ewma, vetoes):
    return Step(target=int(target), decision=decision, beta_ewma=beta_ewma, vetoes=int(vetoes))


def _get(s, key, default=None):
    v = s.get(key, default)
    return default if v is None else v


class _Controller:
    """The answers every controller gives alike (`self.p`: its parameters)."""

    def initial_threads(self, cores):
        return bounds(self.p["n_min"], self.p["n_max"])[0]

    def interval_s(self):
        return self.p["interval_s"]


# ---- adaptive-paper: Algorithm 1 -----------------------------------------------------------------

PAPER_DEFAULTS = dict(n_min=4, n_max=128, beta_thresh=0.3, alpha=0.2, hysteresis=3, interval_s=0.5,
                      step=1, beta_init=0.5)


def validate_paper(p):
    c = "adaptive-paper"
    _check(p["n_min"] >= 1, c, "n_min", ">= 1")
    _check(p["n_max"] >= p["n_min"], c, "n_max", ">= n_min")
    _check(0.0 <= p["beta_thresh"] <= 1.0, c, "beta_thresh", "in 0..=1")
    _check(0.0 < p["alpha"] <= 1.0, c, "alpha", "in (0, 1]")
    _check(p["hysteresis"] >= 1, c, "hysteresis", ">= 1")
    _check(p["interval_s"] > 0.0, c, "interval_s", "> 0")
    _check(p["step"] >= 1, c, "step", ">= 1")
    _check(0.0 <= p["beta_init"] <= 1.0, c, "beta_init", "in 0..=1")


class PaperController(_Controller):
    name = "adaptive-paper"

    def __init__(self, params=None):
        self.p = _params(self.name, PAPER_DEFAULTS, params)
        validate_paper(self.p)
        self.n = bounds(self.p["n_min"], self.p["n_max"])[0]
        b = frac(self.p["beta_init"])
        self.beta_ewma = 0.5 if b is None else b
        self.c_up = 0
        self.vetoes = 0

    def decide(self, s):
        p = self.p
        lo, hi = bounds(p["n_min"], p["n_max"])
        alpha = clamp(p["alpha"], 0.0, 1.0)
        b = frac(s.get("beta"))
        if b is not None:
            self.beta_ewma = alpha * b + (1.0 - alpha) * self.beta_ewma
        decision = "hold"
        if _get(s, "queue_len", 0) > 0:
            if self.beta_ewma > p["beta_thresh"]:
                self.c_up += 1
                if self.c_up >= p["hysteresis"]:
                    nxt = min(sat_add(self.n, max(p["step"], 1)), hi)
                    if nxt > self.n:
                        decision = "grow"
                    self.n = nxt
                    self.c_up = 0
            else:
                decision = "veto"
                self.vetoes = sat_add(self.vetoes, 1)
                self.c_up = 0
        elif self.n > lo:
            self.n = max(sat_sub(self.n, 1), lo)
            decision = "shrink"
        return step(self.n, decision, self.beta_ewma, self.vetoes)


# ---- queue-scaler ------------------------------------------------------------------------------

QUEUE_DEFAULTS = dict(n_min=4, n_max=256, interval_s=0.5)


class QueueScaler(_Controller):
    name = "queue-scaler"

    def __init__(self, params=None):
        self.p = _params(self.name, QUEUE_DEFAULTS, params)
        c = self.name
        _check(self.p["n_min"] >= 1, c, "n_min", "at least 1")
        _check(self.p["n_max"] >= self.p["n_min"], c, "n_max", "at least n_min")
        _check(self.p["interval_s"] > 0.0, c, "interval_s", "greater than 0")
        self.n = max(self.p["n_min"], 1)
        self.empty = 0

    def initial_threads(self, cores):
        return self.n

    def decide(self, s):
        lo = max(self.p["n_min"], 1)
        hi = max(self.p["n_max"], lo)
        q = _get(s, "queue_len", 0)
        if q > 0:
            self.empty = 0
            add = min(-(-q // 2), U32_MAX)
            nxt = min(sat_add(self.n, add), hi)
            d = "grow" if nxt > self.n else "hold"
            self.n = nxt
        else:
            self.empty += 1
            if self.empty >= 2 and self.n > lo:
                self.n -= 1
                self.empty = 0
                d = "shrink"
            else:
                d = "hold"
        return step(self.n, d, None, 0)


# ---- adaptive-betapool: the library's rule as the harness models it ---------------------------

BETAPOOL_DEFAULTS = dict(n_min=4, n_max=128, interval_s=0.5, warmup_tasks=10, stabilization_s=2.0,
                         beta_high=0.7, beta_low=0.3, cpu_high=0.85, grow_step=2, shrink_step=1)


class BetapoolController(_Controller):
    name = "adaptive-betapool"

    def __init__(self, params=None):
        self.p = _params(self.name, BETAPOOL_DEFAULTS, params)
        p, c = self.p, self.name
        _check(p["n_min"] >= 1, c, "n_min", ">= 1")
        _check(p["n_max"] >= p["n_min"], c, "n_max", ">= n_min")
        _check(p["interval_s"] > 0.0, c, "interval_s", "> 0")
        _check(p["stabilization_s"] >= 0.0, c, "stabilization_s", ">= 0")
        _check(0.0 <= p["beta_high"] <= 1.0, c, "beta_high", "in 0..=1")
        _check(0.0 <= p["beta_low"] <= 1.0 and p["beta_low"] <= p["beta_high"], c, "beta_low",
               "in 0..=1 and <= beta_high")
        _check(0.0 <= p["cpu_high"] <= 1.0, c, "cpu_high", "in 0..=1")
        _check(p["grow_step"] >= 1, c, "grow_step", ">= 1")
        _check(p["shrink_step"] >= 1, c, "shrink_step", ">= 1")
        self.n = bounds(p["n_min"], p["n_max"])[0]
        self.completed = 0
        self.clock_s = 0.0
        self.last_change_s = None

    def decide(self, s):
        p = self.p
        lo, hi = bounds(p["n_min"], p["n_max"])
        dt = s.get("interval_s")
        if _finite(dt) and dt > 0:
            self.clock_s += dt
        self.completed += _get(s, "completed", 0)
        beta = frac(s.get("beta"))
        if self.completed < p["warmup_tasks"]:
            return step(self.n, "warmup", beta, 0)
        cpu = frac(s.get("cpu_util"))
        if beta is not None and cpu is not None and beta > p["beta_high"] and cpu < p["cpu_high"]:
            wanted = sat_add(self.n, p["grow_step"])
        elif beta is not None and beta < p["beta_low"]:
            wanted = sat_sub(self.n, p["shrink_step"])
        elif cpu is not None and cpu > p["cpu_high"]:
            wanted = sat_sub(self.n, p["shrink_step"])
        else:
            wanted = self.n
        wanted = clamp(wanted, lo, hi)
        window_open = self.last_change_s is None or self.clock_s - self.last_change_s >= p["stabilization_s"] - 1e-9
        if wanted == self.n or not window_open:
            return step(self.n, "hold", beta, 0)
        d = "grow" if wanted > self.n else "shrink"
        self.n = wanted
        self.last_change_s = self.clock_s
        return step(self.n, d, beta, 0)


# ---- adaptive (ours) ---------------------------------------------------------------------------

OURS_DEFAULTS = dict(
    n_min=1, n_max=1024, interval_s=0.25, initial_per_core=2.0, initial_min=4, margin=0.02,
    noise_z=2.0, max_probe_s=2.5, contention_low=0.2, contention_high=0.75, cpu_busy=0.95,
    cpu_full=0.99, probe_factor=1.5,
    model_headroom=1.25, max_jump=8.0, min_window_tasks=16, min_window_intervals=4,
    window_tasks_per_thread=1.0, seek_window_tasks=4, max_window_s=10.0, throughput_alpha=0.2,
    beta_alpha=0.3, reprobe_windows=30, reprobe_backoff_max=8, regime_change_ratio=2.0,
    idle_intervals=3, idle_headroom=1.25, leap_probe_s=5.0, memory_headroom=0.85,
)


def validate_ours(p):
    c = "adaptive"

    def pos(x):
        return x > 0.0 and math.isfinite(x)

    def unit(x):
        return 0.0 <= x <= 1.0

    _check(p["n_min"] >= 1, c, "n_min", ">= 1")
    _check(p["n_max"] >= p["n_min"], c, "n_max", ">= n_min")
    _check(pos(p["interval_s"]), c, "interval_s", "> 0")
    _check(pos(p["initial_per_core"]), c, "initial_per_core", "> 0")
    _check(unit(p["margin"]) and p["margin"] < 0.5, c, "margin", "in 0..0.5")
    _check(unit(p["contention_low"]), c, "contention_low", "in 0..=1")
    _check(unit(p["cpu_busy"]), c, "cpu_busy", "in 0..=1")
    _check(unit(p["cpu_full"]) and p["cpu_full"] >= p["cpu_busy"], c, "cpu_full", "in 0..=1 and >= cpu_busy")
    _check(unit(p["contention_high"]) and p["contention_high"] >= p["contention_low"], c, "contention_high",
           "in 0..=1 and >= contention_low")
    _check(p["probe_factor"] > 1.0 and math.isfinite(p["probe_factor"]), c, "probe_factor", "> 1")
    _check(p["model_headroom"] >= 1.0 and math.isfinite(p["model_headroom"]), c, "model_headroom", ">= 1")
    _check(p["max_jump"] >= p["probe_factor"] and math.isfinite(p["max_jump"]), c, "max_jump", ">= probe_factor")
    _check(p["min_window_tasks"] >= 1, c, "min_window_tasks", ">= 1")
    _check(p["seek_window_tasks"] >= 1, c, "seek_window_tasks", ">= 1")
    _check(p["min_window_intervals"] >= 1, c, "min_window_intervals", ">= 1")
    _check(p["window_tasks_per_thread"] >= 0.0, c, "window_tasks_per_thread", ">= 0")
    _check(pos(p["max_window_s"]), c, "max_window_s", "> 0")
    _check(p["noise_z"] >= 0.0 and math.isfinite(p["noise_z"]), c, "noise_z", ">= 0")
    _check(pos(p["max_probe_s"]), c, "max_probe_s", "> 0")
    _check(p["throughput_alpha"] > 0.0 and unit(p["throughput_alpha"]), c, "throughput_alpha", "in (0, 1]")
    _check(p["beta_alpha"] > 0.0 and unit(p["beta_alpha"]), c, "beta_alpha", "in (0, 1]")
    _check(p["reprobe_windows"] >= 1, c, "reprobe_windows", ">= 1")
    _check(p["reprobe_backoff_max"] >= 1, c, "reprobe_backoff_max", ">= 1")
    _check(p["regime_change_ratio"] > 1.0, c, "regime_change_ratio", "> 1")
    _check(p["idle_intervals"] >= 1, c, "idle_intervals", ">= 1")
    _check(p["idle_headroom"] >= 1.0 and math.isfinite(p["idle_headroom"]), c, "idle_headroom", ">= 1")
    _check(pos(p["leap_probe_s"]), c, "leap_probe_s", "> 0")
    _check(p["memory_headroom"] > 0.0 and unit(p["memory_headroom"]), c, "memory_headroom", "in (0, 1]")


class _Wsum:
    __slots__ = ("sum", "weight")

    def __init__(self):
        self.sum = 0.0
        self.weight = 0.0

    def add(self, x, w):
        if x is not None:
            self.sum += x * w
            self.weight += w

    def mean(self):
        return self.sum / self.weight if self.weight > 0.0 else None


class _Moments:
    __slots__ = ("k", "sum", "sq")

    def __init__(self):
        self.k = 0
        self.sum = 0.0
        self.sq = 0.0

    def add(self, x):
        self.k += 1
        self.sum += x
        self.sq += x * x


class _Window:
    def __init__(self):
        self.completed = 0
        self.time_s = 0.0
        self.beta = _Wsum()
        self.wait = _Wsum()
        self.lock = _Wsum()
        self.cpu = _Wsum()
        self.rates = _Moments()
        self.need = 0

    def meas(self, n):
        tps = self.completed / self.time_s
        w = self.wait.mean()
        lock = self.lock.mean()
        return _Meas(n, tps, self.se(tps), self.beta.mean(), 0.0 if w is None else w,
                     0.0 if lock is None else lock, self.cpu.mean())

    def se(self, tps):
        m = self.rates
        poisson = tps / math.sqrt(float(max(self.completed, 1)))
        if m.k < 3:
            return poisson
        k = float(m.k)
        var = max((m.sq - m.sum * m.sum / k) / (k - 1.0), 0.0)
        return max(math.sqrt(var / k), poisson * 0.25)


class _Meas:
    __slots__ = ("n", "tps", "se", "beta", "wait", "lock", "cpu_util")

    def __init__(self, n, tps, se, beta, wait, lock=0.0, cpu_util=None):
        self.n, self.tps, self.se, self.beta, self.wait = n, tps, se, beta, wait
        self.lock, self.cpu_util = lock, cpu_util


class _Est:
    __slots__ = ("tps", "se")

    def __init__(self, tps=0.0, se=0.0):
        self.tps, self.se = tps, se

    def pool(self, new, floor):
        v0, v1 = self.se * self.se, new.se * new.se
        a = v0 / (v0 + v1) if v0 + v1 > 0.0 else 0.5
        a = min(max(a, floor), 1.0)
        return _Est(a * new.tps + (1.0 - a) * self.tps, math.sqrt(a * a * v1 + (1.0 - a) * (1.0 - a) * v0))


class _Probe:
    __slots__ = ("base", "base_tps", "base_lock", "base_cpu", "up", "seek", "stretched", "leap", "fallback",
                 "bisect", "confirm")

    def __init__(self, base, base_tps, base_lock, base_cpu, up, seek):
        self.base, self.base_tps, self.base_lock, self.base_cpu = base, base_tps, base_lock, base_cpu
        self.up, self.seek = up, seek
        self.stretched = self.leap = self.bisect = False
        self.fallback = base
        # A gain from full cores under check: (step N, step estimate), as ours.rs.
        self.confirm = None

    def but(self, **changes):
        """A copy with some fields changed (Rust's `Probe { field, ..pr }`)."""
        pr = _Probe(self.base, self.base_tps, self.base_lock, self.base_cpu, self.up, self.seek)
        for k in ("stretched", "leap", "fallback", "bisect", "confirm"):
            setattr(pr, k, getattr(self, k))
        for k, v in changes.items():
            setattr(pr, k, v)
        return pr


SEEK, CLIMB, SETTLED = "seek", "climb", "settled"


class OursController(_Controller):
    """harness/src/controller/ours.rs; see its module docs for the rules."""

    name = "adaptive"

    def __init__(self, params=None):
        self.p = _params(self.name, OURS_DEFAULTS, params)
        validate_ours(self.p)
        p = self.p
        self.target = bounds(p["n_min"], p["n_max"])[0]
        self.discard_s = p["interval_s"] * 0.5
        self.mode = (SEEK,)
        self.probe = None
        self.table = []  # [(n, _Est, lock wait of n's latest window)]
        self.refused = []  # N whose step up was refused in this regime (see _best_except)
        self.revisited = False  # a refused step was probed again from settled (see _revisit)
        self.win = _Window()
        self.task_wall_s = None
        self.p_sat = None
        self.settled_model = None
        self.backoff = 1
        self.strikes = 0
        self.idle = 0
        self.lag = 0
        self.beta_ewma = None
        self.vetoes = 0
        self.measured_once = False
        self.leapt = False
        self.rechecked = False
        self.memory_frac = None
        self.cores = 1

    # -- Controller
    def initial_threads(self, cores):
        lo, hi = self._bounds()
        per_core = as_u32(rround(float(max(cores, 1)) * self.p["initial_per_core"]))
        return clamp(max(per_core, self.p["initial_min"]), lo, hi)

    def decide(self, s):
        p = self.p
        beta = frac(s.get("beta"))
        mf = s.get("memory_frac")
        self.memory_frac = mf if _finite(mf) and mf > 0.0 else None
        self.cores = max(as_u32(_get(s, "cores", 0)), 1)
        if beta is not None:
            a = clamp(p["beta_alpha"], 0.0, 1.0)
            self.beta_ewma = beta if self.beta_ewma is None else a * beta + (1.0 - a) * self.beta_ewma
        hold = "hold" if self.measured_once else "warmup"
        lo, hi = self._bounds()
        threads = _get(s, "threads", 0)
        if not self.measured_once and self.lag == 0 and threads != self.target:
            self.target = clamp(threads, lo, hi)
        dt = s.get("interval_s")
        dt = dt if _finite(dt) and dt > 0.0 else 0.0

        if _get(s, "queue_len", 0) == 0:
            self.win = _Window()
            self.probe = None
            self.idle += 1
            if self.idle >= p["idle_intervals"]:
                return self._step(self._on_idle(s, beta))
            return self._step(hold)
        self.idle = 0

        if threads != self.target:
            self.win = _Window()
            self.lag += 1
            if self.lag > 8:
                self.lag = 0
                self.target = clamp(threads, lo, hi)
                self._reset_regime()
            return self._step(hold)
        self.lag = 0

        if self.discard_s > 1e-9:
            self.discard_s -= max(dt, p["interval_s"] * 0.5)
            return self._step(hold)

        completed = _get(s, "completed", 0)
        w = float(completed)
        win = self.win
        win.completed += completed
        win.time_s += dt
        win.beta.add(beta, w)
        lw, rw = frac(s.get("lock_wait_frac")), frac(s.get("runq_wait_frac"))
        wait = None if lw is None and rw is None else min((lw or 0.0) + (rw or 0.0), 1.0)
        win.wait.add(wait, w)
        win.lock.add(lw, w)
        win.cpu.add(frac(s.get("cpu_util")), dt)
        if dt > 0.0:
            win.rates.add(completed / dt)
        if win.need == 0:
            win.need = self._window_need()
        full = win.completed >= win.need and win.rates.k >= p["min_window_intervals"] and win.time_s > 0.0
        timed_out = win.time_s >= p["max_window_s"]
        if not full and not timed_out:
            return self._step(hold)
        if win.completed == 0 or win.time_s <= 0.0:
            self.win = _Window()
            return self._step(hold)
        m = win.meas(self.target)
        if self.probe is not None:
            now = self._pooled(m)
            room = win.time_s + dt <= min(self._probe_limit_s(self.probe, now), p["max_window_s"])
            if room and self.probe.confirm is None and self._verdict(self.probe, now) is None:
                win.need = win.completed + 1
                return self._step(hold)
        self.win = _Window()
        self.measured_once = True
        return self._step(self._on_measurement(m, _get(s, "cores", 0), True))

    # -- helpers
    def _bounds(self):
        return bounds(self.p["n_min"], self.p["n_max"])

    def _step(self, decision):
        return step(self.target, decision, self.beta_ewma, self.vetoes)

    def _veto(self):
        self.vetoes = sat_add(self.vetoes, 1)

    def _window_need(self):
        p = self.p
        need = as_u32(math.ceil(p["window_tasks_per_thread"] * float(self.target))) \
            if math.isfinite(p["window_tasks_per_thread"] * float(self.target)) else 0
        need = max(need, p["min_window_tasks"], 1)
        if self.probe is not None:
            seeking_up = self.probe.seek and self.probe.up and self.probe.confirm is None
        else:
            seeking_up = self.mode[0] == SEEK
        return min(need, max(p["seek_window_tasks"], 1)) if seeking_up else need

    def _memory_cap(self):
        f = self.memory_frac
        if f is None or f <= 0.0:
            return U32_MAX
        n = math.floor(self.p["memory_headroom"] * float(self.target) / f)
        return int(max(min(n, U32_MAX), self.target))

    def _move_to(self, n):
        lo, hi = self._bounds()
        n = clamp(n, lo, hi)
        cap = self._memory_cap()  # never below the target: only growth is capped
        if n > cap:
            n = cap
            if n == self.target:
                self._veto()
        if n == self.target:
            return False
        self.target = n
        self.win = _Window()
        wall = min(self.task_wall_s if self.task_wall_s is not None else 0.0, self.p["max_window_s"])
        self.discard_s = max(wall, self.p["interval_s"] * 0.5)
        return True

    def _reset_regime(self):
        self.mode = (SEEK,)
        self.probe = None
        self.table = []
        self.refused = []
        self.p_sat = None
        self.settled_model = None
        self.backoff = 1
        self.leapt = False
        self.rechecked = False
        self.revisited = False

    def _best_except(self, except_n):
        """The best estimate but at `except_n` and at N whose step up was refused: their
        point estimates are the noise's maximum (as ours.rs)."""
        best = _Est()
        for n, e, _ in self.table:
            if n != except_n and n not in self.refused and e.tps > best.tps:
                best = e
        return best

    def _pooled(self, m):
        new = _Est(m.tps, m.se)
        for n, e, _ in self.table:
            if n == m.n:
                return e.pool(new, self.p["throughput_alpha"])
        return new

    def _record(self, m):
        est = self._pooled(m)
        for i, (n, _, _) in enumerate(self.table):
            if n == m.n:
                self.table[i] = (n, est, m.lock)
                return est
        self.table.append((m.n, est, m.lock))
        return est

    def _threshold(self, base, new):
        se = math.sqrt(base.se * base.se + new.se * new.se)
        return max(self.p["margin"], self.p["noise_z"] * se / max(base.tps, 1e-9))

    def _change(self, pr, now):
        """The probe's relative change against its reference and the change that counts."""
        base = pr.base_tps if pr.up else self._best_except(self.target)
        if base.tps <= 0.0:
            return None
        return now.tps / base.tps - 1.0, self._threshold(base, now)

    def _verdict(self, pr, now):
        c = self._change(pr, now)
        if c is None:
            return True
        change, thr = c
        if change > thr:
            return True
        if change < -thr:
            return False
        return None

    def _tie_break(self, pr, now, m):
        """Within the noise at the end of a probe: the point estimate decides, fewer
        threads winning within the margin; a step up is also kept while there is room to
        grow or when it raised CPU use beyond the margin, a step down that idled the CPU beyond
        it loses (lock free, or under a core at the lower N); halfway back from the lock, the
        point gain or that CPU gain decides (as ours.rs)."""
        c = self._change(pr, now)
        change = 0.0 if c is None else c[0]
        cpu_gain = self._cpu_change(pr, m) > self.p["margin"]
        filled_a_core = cpu_gain and self._under_a_core(pr.base_cpu)
        if pr.up and pr.bisect:
            return change > self.p["margin"] or filled_a_core
        if pr.up:
            # Lock free and cores full at the base: a point gain without more CPU is noise.
            point_gain = change > self.p["margin"] and not self._cores_full(pr.base_cpu)
            return ((self._lock_free(m) and (point_gain or self._room_to_grow(pr, m) or cpu_gain))
                    or filled_a_core)
        idled = self._cpu_change(pr, m) < -self.p["margin"]
        return self._busy_with_fewer(pr, m) or (change >= -self.p["margin"] and not (
            idled and (self._lock_free(m) or self._under_a_core(m.cpu_util))))

    def _busy_with_fewer(self, pr, m):
        """A step down with the lock still waited on and CPU use within the margin of the
        base's: at least as much work with fewer threads (as ours.rs)."""
        return (not pr.up and not self._lock_free(m) and pr.base_cpu is not None
                and m.cpu_util is not None and self._cpu_change(pr, m) >= -self.p["margin"])

    def _lock_held(self, lock, cpu_util):
        """The lock waited on with at least `cpu_busy` of one core in use (as ours.rs)."""
        return (lock >= self.p["contention_low"] and cpu_util is not None
                and not self._under_a_core(cpu_util))

    def _cores_full(self, cpu_util):
        """CPU use (a share of the point's cores) at `cpu_full` or above."""
        return cpu_util is not None and cpu_util >= self.p["cpu_full"]

    def _under_a_core(self, cpu_util):
        """CPU use below `cpu_busy` of one core: there CPU use tracks the work done even with
        the lock waited on (as ours.rs)."""
        return cpu_util is not None and cpu_util * float(self.cores) < self.p["cpu_busy"]

    @staticmethod
    def _cpu_change(pr, m):
        """Relative change of CPU use from the probe's base to `m`, 0 unless both measured."""
        if pr.base_cpu is None or m.cpu_util is None or pr.base_cpu <= 0.0:
            return 0.0
        return m.cpu_util / pr.base_cpu - 1.0

    def _knee(self, pr, verdict, now, m, queue):
        """A tied step up with a point gain beyond the margin into a saturated lock: halfway
        (geometrically) back, or None (as ours.rs)."""
        c = self._change(pr, now)
        gain = c is not None and c[0] > self.p["margin"]
        fresh = pr.up and not pr.seek and not pr.leap and not pr.bisect
        # The lock held at the base: the knee lies at or below it unless CPU use rose.
        past_it = (self._lock_held(pr.base_lock, pr.base_cpu)
                   and self._cpu_change(pr, m) <= self.p["margin"])
        if not (fresh and verdict is None and gain and queue and not self._lock_free(m)) or past_it:
            return None
        mid = halfway(pr.base, self.target)
        return mid if pr.base < mid < self.target else None

    def _model(self, m, cores):
        if m.beta is None:
            return None
        p = self.p
        cpu = max(1.0 - m.beta, 1e-3)
        io = max(m.beta - m.wait, 0.0)
        r = io / cpu
        cores = float(max(cores, 1))
        in_use = clamp(float(m.n) * cpu, 0.1, cores)
        if m.wait >= p["contention_low"]:
            self.p_sat = in_use
        pp = max(self.p_sat if self.p_sat is not None else cores, in_use)
        lo, hi = self._bounds()
        n = math.ceil(pp * (1.0 + r) * p["model_headroom"])
        return as_u32(clamp(float(n), float(lo), float(hi)))

    def _room_to_grow(self, pr, m):
        """Idle CPU and little lock waiting at a step up that did not lower CPU use (use that
        fell is the host taking the cores): more threads can still turn waiting into work."""
        return self._spare_cpu(m, self.p["cpu_busy"]) and self._cpu_change(pr, m) >= 0.0

    def _spare_cpu(self, m, below):
        """CPU use below `below` with the lock free."""
        return m.cpu_util is not None and m.cpu_util < below and self._lock_free(m)

    def _probe_limit_s(self, pr, now):
        c = self._change(pr, now)
        promising = pr.up and c is not None and c[0] > 2.0 * self.p["margin"]
        return self.p["leap_probe_s"] if pr.leap or promising else self.p["max_probe_s"]

    def _may_grow(self, m):
        return m.wait < self.p["contention_high"] or self._spare_cpu(m, self.p["cpu_full"])

    def _slowed(self, pr, m):
        # A step up that fell while it put idle CPU to work with the lock free: the machine
        # slowed (tasks cost more CPU each), judged as a tie (as ours.rs).
        return (pr.up and self._lock_free(m) and pr.base_lock < self.p["contention_low"]
                and pr.base_cpu is not None and pr.base_cpu < self.p["cpu_busy"]
                and self._cpu_change(pr, m) > self.p["margin"])

    def _must_confirm(self, pr, m):
        """A gain beyond the noise from full cores with the lock free at the base and the
        step, or from a held lock still waited on at the step, is measured against the base
        again before it is kept (as ours.rs)."""
        free_and_full = (self._cores_full(pr.base_cpu) and pr.base_lock < self.p["contention_low"]
                         and self._lock_free(m))
        held = self._lock_held(pr.base_lock, pr.base_cpu) and not self._lock_free(m)
        return pr.up and not pr.bisect and not pr.leap and (free_and_full or held)

    def _after_confirm(self, pr, m, model, queue):
        """The base measured again: keep the step only on a gain beyond the noise over the
        mean of the base's windows before and after it (as ours.rs)."""
        step, step_tps = pr.confirm
        a = pr.base_tps
        base = _Est((a.tps + m.tps) / 2.0, math.sqrt(a.se * a.se + m.se * m.se) / 2.0)
        gain = base.tps > 0.0 and step_tps.tps / base.tps - 1.0 > self._threshold(base, step_tps)
        if gain and queue and self._move_to(step):
            self.refused = [n for n in self.refused if n != step]
            self.mode = (SEEK,) if pr.seek else (CLIMB,)
            return "grow"
        self._veto()
        self._refuse(step)
        self._settle(model)
        return "veto"

    def _may_recheck(self, pr, m, queue):
        # A fall with the lock free is measured again once per regime (slow spells).
        return (not self.rechecked and not pr.seek and queue and self._lock_free(m)
                and pr.base_lock < self.p["contention_low"])

    def _revisit(self, now, m, queue):
        """Settled, the lock free, at an N whose estimate now loses beyond the noise to a step
        up the pool refused from it with the lock free at the step too: the smallest such N,
        probed again once per regime if within one step (as ours.rs: the refusal was judged
        against a base window that read high; one refused under the lock was refused for the
        lock, and a leap's refused target is no step from here)."""
        if self.revisited or not queue or not self._lock_free(m) or not self._may_grow(m):
            return None
        low, step = self.p["contention_low"], self._up_from(self.target)
        ns = [n for n, e, lock in self.table
              if self.target < n <= step and n in self.refused and lock < low
              and self._lost(now, e)]
        return min(ns) if ns else None

    def _lock_free(self, m):
        return m.lock < self.p["contention_low"]

    def _lost(self, e, than):
        return than.tps > 0.0 and e.tps / than.tps - 1.0 < -self._threshold(than, e)

    def _next_down(self, frm, than):
        """A probe_factor step below frm, or halfway (geometrically) between frm and the
        largest N in that step that lost to `than`; None when nothing is left (as ours.rs)."""
        lo = self._bounds()[0]
        step = max(self._down_from(frm), lo)
        worse = [k for k, e, _ in self.table if step <= k < frm and self._lost(e, than)]
        w = max(worse) if worse else None
        n = step if w is None else halfway(w, frm)
        if n >= lo and n < frm and (w is None or n > w):
            return n
        return None

    def _up_from(self, n):
        return max(as_u32(rround(float(n) * self.p["probe_factor"])), sat_add(n, 1))

    def _down_from(self, n):
        return min(as_u32(rround(float(n) / self.p["probe_factor"])), sat_sub(n, 1))

    def _start_probe(self, n, up, seek, base, base_tps):
        if self._move_to(n):
            self.probe = _Probe(base.n, base_tps, base.lock, base.cpu_util, up, seek)
            return True
        return False

    def _settle(self, model):
        started_at = self.mode[2] if self.mode[0] == SETTLED else None
        if started_at is not None:
            if started_at == self.target:
                self.backoff = min(self.backoff * 2, max(self.p["reprobe_backoff_max"], 1))
            else:
                self.backoff = 1
        self.mode = (SETTLED, 0, None)
        self.settled_model = model

    def _reject_up(self, pr, fell, model):
        """A rejected step up: back to the base, or below it when the lock bound the base or
        throughput fell (as ours.rs)."""
        self._refuse(self.target)
        lock_bound = pr.base_lock >= self.p["contention_low"]
        down = self._next_down(pr.base, pr.base_tps)
        if down is not None and not pr.seek and (lock_bound or fell):
            self._move_to(down)
            self.probe = pr.but(up=False, leap=False, bisect=False)
        else:
            self._back_to_base(pr, model)
        return "veto"

    def _refuse(self, n):
        if n not in self.refused:
            self.refused.append(n)

    def _back_to_base(self, pr, model):
        self._move_to(pr.base)
        if pr.seek:
            self.mode = (CLIMB,)
        else:
            self._settle(model)

    def _climb(self, m, model, tps, queue):
        p = self.p
        lo, hi = self._bounds()
        self.mode = (SETTLED, 0, self.mode[2]) if self.mode[0] == SETTLED else (CLIMB,)
        vetoed = False
        if self.target < hi and queue:
            if self._may_grow(m):
                if self._start_probe(self._up_from(self.target), True, False, m, tps):
                    return "grow"
            else:
                self._veto()
                vetoed = True
        down = self._next_down(self.target, tps) if m.wait >= p["contention_low"] else None
        if down is not None:
            if self._start_probe(down, False, False, m, tps):
                return "veto" if vetoed else "shrink"
        self._settle(model)
        return "veto" if vetoed else "hold"

    def _seek(self, m, model, tps, queue):
        if model is None:
            return self._climb(m, model, tps, queue)
        p = self.p
        n = float(self.target)
        f = p["probe_factor"]
        nm = float(model)
        if nm >= n * f and queue and self._may_grow(m):
            to = as_u32(rround(min(nm, n * p["max_jump"])))
            if self._start_probe(to, True, True, m, tps):
                return "grow"
        elif nm <= n / f:
            to = as_u32(rround(max(nm, n / p["max_jump"])))
            if self._start_probe(to, False, True, m, tps):
                return "shrink"
        return self._climb(m, model, tps, queue)

    def _on_measurement(self, m, cores, queue):
        p = self.p
        tps = self._record(m)
        if tps.tps > 0.0:
            self.task_wall_s = float(m.n) / tps.tps
        model = self._model(m, cores)
        if self.probe is not None:
            pr, self.probe = self.probe, None
            if pr.confirm is not None:
                return self._after_confirm(pr, m, model, queue)
            verdict = self._verdict(pr, tps)
            if verdict is False and self._slowed(pr, m):
                verdict = None
            if pr.leap and verdict is not True:
                self._veto()
                if pr.fallback == pr.base:
                    return self._reject_up(pr, False, model)
                self._refuse(self.target)
                self._move_to(pr.fallback)
                self._settle(model)
                return "veto"
            c = self._change(pr, tps)
            small_gain = c is not None and c[0] > 0.0
            # Not from full cores, where a small point gain is noise (as ours.rs).
            may_go_on = (verdict is None and pr.up and not pr.seek and not pr.bisect and small_gain
                         and not self._cores_full(pr.base_cpu)
                         and self._lock_free(m) and queue and self._may_grow(m))
            # Two ties with small gains: leap one step further, once per regime (as ours.rs).
            if may_go_on and pr.stretched and not pr.leap and not self.leapt:
                fallback = self.target if self._tie_break(pr, tps, m) else pr.base
                if self._move_to(self._up_from(self.target)):
                    self.leapt = True
                    self.probe = pr.but(leap=True, fallback=fallback)
                    return "grow"
            # Halfway into the lock before the tie rule (as ours.rs).
            mid = self._knee(pr, verdict, tps, m, queue)
            if mid is not None:
                self._veto()
                self._refuse(self.target)
                self._move_to(mid)
                self.probe = pr.but(bisect=True)
                return "veto"
            if verdict is True and self._must_confirm(pr, m):
                step = self.target
                self._move_to(pr.base)
                self.probe = pr.but(confirm=(step, tps))
                return "shrink"
            accepted = verdict if verdict is not None else self._tie_break(pr, tps, m)
            if accepted:
                self.refused = [n for n in self.refused if n != self.target]
                if pr.seek:
                    return self._seek(m, model, tps, queue)
                if pr.up:
                    if pr.bisect:
                        self._settle(model)
                        return "hold"
                    if self._may_grow(m) and queue:
                        return self._climb(m, model, tps, queue)
                    self._veto()
                    self._settle(model)
                    return "veto"
                down = self._next_down(self.target, tps) if m.wait >= p["contention_low"] else None
                if down is not None:
                    if self._start_probe(down, False, False, m, tps):
                        return "shrink"
                    self._settle(model)
                    return "hold"
                self._settle(model)
                return "hold"
            # A climb that tied with a small gain goes one step further (as ours.rs).
            if may_go_on and not pr.stretched and self._move_to(self._up_from(self.target)):
                self.probe = pr.but(stretched=True)
                return "grow"
            if pr.up and verdict is False and self._may_recheck(pr, m, queue):
                # Judged again on a fresh window; this one is forgotten.
                self.rechecked = True
                self.table = [e for e in self.table if e[0] != m.n]
                self.probe = pr
                return "hold"
            if pr.up:
                self._veto()
                return self._reject_up(pr, verdict is False, model)
            self._back_to_base(pr, model)
            return "grow"
        if self.mode[0] == SEEK:
            return self._seek(m, model, tps, queue)
        if self.mode[0] == CLIMB:
            return self._climb(m, model, tps, queue)
        _, windows, started_at = self.mode
        changed_model = False
        if model is not None and self.settled_model is not None:
            a, b = model, self.settled_model
            changed_model = float(max(a, b)) / float(max(min(a, b), 1)) > p["regime_change_ratio"]
        self.strikes = self.strikes + 1 if changed_model else 0
        if self.strikes >= 2:
            self.strikes = 0
            self._reset_regime()
            self._record(m)
            return self._seek(m, model, tps, queue)
        n = self._revisit(tps, m, queue)
        if n is not None:
            # Measured afresh, against the settled N's fresh estimate.
            self.revisited = True
            self.refused = [r for r in self.refused if r != n]
            self.table = [e for e in self.table if e[0] != n]
            self.mode = (SETTLED, 0, self.target)
            if self._start_probe(n, True, False, m, tps):
                return "grow"
        windows += 1
        due = min(p["reprobe_windows"] * max(self.backoff, 1), U32_MAX)
        if windows >= due:
            self.table = [e for e in self.table if e[0] == m.n]
            self.refused = []
            self.revisited = False
            self.mode = (SETTLED, 0, self.target)
            return self._climb(m, model, tps, queue)
        self.mode = (SETTLED, windows, started_at)
        return "hold"

    def _on_idle(self, s, beta):
        lo, _ = self._bounds()
        half = max(-(-self.target // 2), lo)
        cpu_util = frac(s.get("cpu_util"))
        busy = None
        if beta is not None and cpu_util is not None and beta < 0.999:
            busy = cpu_util * float(max(_get(s, "cores", 0), 1)) / (1.0 - beta)
        want = max(as_u32(math.ceil(busy * self.p["idle_headroom"])), half) if busy is not None else half
        self.idle = 0
        if want < self.target and self._move_to(want):
            self._reset_regime()
            return "shrink"
        return "hold"


CONTROLLERS = {
    "adaptive-paper": PaperController,
    "queue-scaler": QueueScaler,
    "adaptive-betapool": BetapoolController,
    "adaptive": OursController,
}


def build(name, params=None):
    cls = CONTROLLERS.get(name)
    if cls is None:
        raise InvalidParams(f"unknown controller {name!r}; expected one of {', '.join(CONTROLLERS)}")
    return cls(params)


# ---- CLI ---------------------------------------------------------------------------------------

USAGE = """usage: driver.py decide --controller NAME [--params JSON] [--initial-threads CORES]
  Reads Sample JSON objects, one per line, on stdin; prints one line per sample:
  {"target": int, "decision": "hold|grow|shrink|veto|warmup", "beta_ewma": float|null, "vetoes": int}
  --initial-threads CORES  print {"initial_threads": n, "interval_s": x} for CORES cores and exit
  NAME: adaptive-paper, adaptive, queue-scaler, adaptive-betapool"""


def cli(argv):
    name, params, cores = None, None, None
    it = iter(argv)
    try:
        for a in it:
            if a == "--controller":
                name = next(it)
            elif a == "--params":
                params = json.loads(next(it))
            elif a == "--initial-threads":
                cores = int(next(it))
            elif a in ("-h", "--help"):
                print(USAGE)
                return 0
            else:
                raise ValueError(f"unknown argument {a!r}")
        if name is None:
            raise ValueError("--controller NAME is required")
        ctl = build(name, params)
    except (StopIteration, ValueError) as e:
        msg = "an option is missing its value" if isinstance(e, StopIteration) else str(e)
        print(json.dumps({"ok": False, "error": msg}))
        print(USAGE, file=sys.stderr)
        return 2
    out = sys.stdout
    if cores is not None:
        out.write(json.dumps({"initial_threads": ctl.initial_threads(cores), "interval_s": ctl.interval_s()}) + "\n")
        return 0
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            s = json.loads(line)
            if not isinstance(s, dict):
                raise ValueError("expected a Sample object")
        except ValueError as e:
            out.write(json.dumps({"ok": False, "error": f"line {lineno}: bad sample: {e}"}) + "\n")
            out.flush()
            return 2
        st = ctl.decide(s)
        b = st["beta_ewma"]
        out.write(json.dumps({"target": st["target"], "decision": st["decision"],
                              "beta_ewma": b if b is None or math.isfinite(b) else None,
                              "vetoes": st["vetoes"]}) + "\n")
        out.flush()
    return 0

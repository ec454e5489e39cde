//! Our controller (`adaptive`): model-seeded, throughput-verified, contention-guarded.
//!
//! Why not beta alone: a thread waiting for the interpreter lock or for a CPU burns no CPU
//! time, so beta *rises* under GIL contention and oversubscription, exactly where more threads
//! hurt; native code that releases the lock lowers beta although it parallelises. The harness
//! measures lock wait and run-queue wait per task, so beta can be decomposed:
//!
//! - `w = lock_wait_frac + runq_wait_frac` (waiting that more threads cannot hide),
//! - `io = max(0, beta - w)` (true blocking: I/O and other off-CPU waits),
//! - `cpu = 1 - beta` (share of wall time a task is on a CPU),
//! - `r = io / cpu` = I/O time per unit of CPU time, which, unlike `io`, does not shrink when
//!   waits stretch the wall time.
//!
//! Little's law then gives the thread count that keeps `P` CPUs busy on average,
//! `P * (1 + r)`; the model asks for `N* = ceil(P * (1 + r) * model_headroom)` since task
//! times vary.
//! `P` is the parallelism the runtime really offers, unknown in advance (1 under a GIL for
//! Python code, up to `cores` for free-threaded or native code). When tasks wait noticeably
//! (`w >= contention_low`) the pool is saturated and `P` is what is in use, `N * cpu`
//! (= tasks/s x CPU s/task); otherwise `P` is bounded by `cores` (or the last saturated
//! estimate of this regime).
//!
//! The model only proposes; throughput decides. Every move is a probe measured over a
//! window of at least `max(min_window_tasks, window_tasks_per_thread * N)` completed tasks
//! (`seek_window_tasks` while seeking upwards), so tasks longer than an interval never read
//! as a drop; a window also closes after `max_window_s` if any task completed. Before each
//! window the transient is discarded
//! (one task wall time, `N / X`, at least half an interval). Rules, in order:
//!
//! 1. Queue empty for `idle_intervals` intervals: shrink to `max(busy * idle_headroom, N/2)`
//!    where `busy = cpu_util * cores / (1 - beta)` is the number of tasks in flight (Little),
//!    and restart seeking when work comes back. A non-empty queue is required to grow.
//! 2. Seek (start, and after a regime change): jump to `N*` (at most `max_jump` x per step)
//!    while it is more than `probe_factor` away. An upward jump is kept only if throughput
//!    rose by more than `margin`; a downward one if throughput stays within `margin` of the
//!    best seen (fewer threads for the same work wins ties: less latency, less memory).
//! 3. Climb: probe `N * probe_factor` while contention is below `contention_high` (or the
//!    cores are not full (CPU < `cpu_full`) with the lock free) and each
//!    probe gains more than `margin`; growth refused by contention or by a failed probe is a
//!    Veto (counted) and the pool steps back to the best N. A step up that fell with the lock
//!    free is measured again on a fresh window before the fall is believed (once per regime:
//!    the machine has slow spells). After a failed upward probe, if
//!    the base waited for the lock (lock wait >= `contention_low`) or throughput fell, probe
//!    downwards
//!    (`N / probe_factor`), accepted on the same tie rule (the best seen leaves out the N
//!    whose step up was refused: their point estimates are the noise's maximum); continue
//!    down while contention
//!    stays high. Where a step down would reach an N already measured worse in this regime,
//!    probe halfway (geometrically) instead, until no thread count is left in between: the
//!    smallest N within the margin of the best, since above the knee extra threads only add
//!    latency. A probe up that ties with a small gain goes one step further, judged against
//!    the same base (curves that rise a little per step); if that ties with a small gain
//!    too, once per regime the pool leaps a third step, measured for up to `leap_probe_s`
//!    and kept only on a gain beyond the noise (else back to where the two steps' tie rule
//!    put it). A probe up that ties with a point gain beyond the margin but finds the lock
//!    saturated (lock wait >= `contention_low`) has crossed the knee: the pool tries halfway
//!    (geometrically) back, kept on its point gain over the same base, and stops there.
//!    In a tie with the lock free, CPU use decides as well: a step up that raised the cores'
//!    use by more than `margin` is kept (its point gain alone is not enough once the base had
//!    the cores full, `cpu_full`), a step down that idled them by more is not (without
//!    lock contention a task costs about the same CPU at any N, and CPU time is measured
//!    with far less noise than the tasks a window completes); with the lock contended, so
//!    does CPU use below `cpu_busy` of one core at the lower N of the two (the lock runs one
//!    thread at a time: under a core, the core idles while all threads are in I/O). Then
//!    settle.
//! 4. Settled: hold. With the lock free, where the settled N's estimate comes to lose
//!    beyond the noise to that of a step up refused from it, probe that step again from
//!    here, once per regime (the refusal was judged against a base window that read high).
//!    Re-probe after `reprobe_windows` windows, doubling the wait (up to
//!    `reprobe_backoff_max` x) each time a re-probe ends where it started. Re-seek at once
//!    when the model's `N*` moves by more than `regime_change_ratio` x two windows in a row
//!    (the workload changed). Throughput at the same N is not a sign of a new workload: it
//!    moves with the machine's speed (spells of 20-40 % here), and a workload whose costs
//!    all scale together keeps its optimum; smaller drifts are left to the re-probe.
//!
//! Memory: growth stops where the memory in use (the process's cgroup usage against its
//! limit), grown in proportion to the threads, would pass `memory_headroom` of the limit;
//! a refused step up is a veto. Without a limit nothing changes.

use super::{
    bounds, check, frac, Controller, ControllerSpec, Decision, InvalidParams, Sample, Step,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OursParams {
    pub n_min: u32,
    pub n_max: u32,
    pub interval_s: f64,
    /// Initial pool: `max(initial_min, initial_per_core * cores)`.
    pub initial_per_core: f64,
    pub initial_min: u32,
    /// Smallest relative throughput change a probe acts on, however quiet the windows.
    pub margin: f64,
    /// A probe's change must exceed this many standard errors of the difference (estimated
    /// from the spread of interval throughputs within the windows) to count as a gain or loss.
    pub noise_z: f64,
    /// An inconclusive probe window is lengthened, interval by interval, until it has run
    /// this long (then the point estimate decides, fewer threads winning within `margin`).
    pub max_probe_s: f64,
    /// Waiting share (lock + run queue) that marks a saturated pool.
    pub contention_low: f64,
    /// Waiting share above which growth is vetoed.
    pub contention_high: f64,
    /// CPU utilisation (of the point's cores) below which a step up that neither gained
    /// nor lost beyond the noise is kept; with the lock contended, the share of one core
    /// below which CPU use still settles ties.
    pub cpu_busy: f64,
    /// CPU utilisation from which the cores count as full: below it, with the lock free,
    /// run-queue wait does not veto growth (on one core a thread queues for the CPU whenever
    /// another runs, so run-queue wait is high long before the core is used up).
    pub cpu_full: f64,
    pub probe_factor: f64,
    /// Little's law gives the threads that keep `P` CPUs busy on average; task times vary,
    /// so the model asks for this much more (rounded up).
    pub model_headroom: f64,
    pub max_jump: f64,
    pub min_window_tasks: u64,
    /// A window spans at least this many intervals, so that its noise can be estimated from
    /// the spread of their throughputs.
    pub min_window_intervals: u32,
    pub window_tasks_per_thread: f64,
    /// While seeking upwards a window may close after this many tasks: the model needs only
    /// beta and the waits, and an up-jump must gain far more than the noise of a short window.
    pub seek_window_tasks: u64,
    /// A window closes after this long even with few tasks (if any completed).
    pub max_window_s: f64,
    /// When the same N is measured again, windows are pooled by inverse variance, but a new
    /// window weighs at least this much (the workload may drift).
    pub throughput_alpha: f64,
    /// EWMA weight of a new interval's beta, for reporting.
    pub beta_alpha: f64,
    pub reprobe_windows: u32,
    pub reprobe_backoff_max: u32,
    pub regime_change_ratio: f64,
    pub idle_intervals: u32,
    pub idle_headroom: f64,
    /// How long a leap (see the module docs), or a step up that looks like a gain of more
    /// than twice the margin, may be measured before the point estimate decides it.
    pub leap_probe_s: f64,
    /// Share of the memory limit the pool may fill: growth stops where the memory in use,
    /// grown in proportion to the threads, would pass it (the pool never grows into the OOM
    /// killer). No effect without a limit.
    pub memory_headroom: f64,
}

impl Default for OursParams {
    fn default() -> Self {
        Self {
            n_min: 1,
            n_max: 1024,
            interval_s: 0.25,
            initial_per_core: 2.0,
            initial_min: 4,
            margin: 0.02,
            noise_z: 2.0,
            max_probe_s: 2.5,
            contention_low: 0.2,
            contention_high: 0.75,
            cpu_busy: 0.95,
            cpu_full: 0.99,
            probe_factor: 1.5,
            model_headroom: 1.25,
            max_jump: 8.0,
            min_window_tasks: 16,
            min_window_intervals: 4,
            window_tasks_per_thread: 1.0,
            seek_window_tasks: 4,
            max_window_s: 10.0,
            throughput_alpha: 0.2,
            beta_alpha: 0.3,
            reprobe_windows: 30,
            reprobe_backoff_max: 8,
            regime_change_ratio: 2.0,
            idle_intervals: 3,
            idle_headroom: 1.25,
            leap_probe_s: 5.0,
            memory_headroom: 0.85,
        }
    }
}

impl OursParams {
    pub fn validate(&self) -> Result<(), InvalidParams> {
        let c = "adaptive";
        let pos = |x: f64| x > 0.0 && x.is_finite();
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        check(self.n_min >= 1, c, "n_min", ">= 1")?;
        check(self.n_max >= self.n_min, c, "n_max", ">= n_min")?;
        check(pos(self.interval_s), c, "interval_s", "> 0")?;
        check(pos(self.initial_per_core), c, "initial_per_core", "> 0")?;
        check(
            unit(self.margin) && self.margin < 0.5,
            c,
            "margin",
            "in 0..0.5",
        )?;
        check(unit(self.contention_low), c, "contention_low", "in 0..=1")?;
        check(unit(self.cpu_busy), c, "cpu_busy", "in 0..=1")?;
        check(
            unit(self.cpu_full) && self.cpu_full >= self.cpu_busy,
            c,
            "cpu_full",
            "in 0..=1 and >= cpu_busy",
        )?;
        check(
            unit(self.contention_high) && self.contention_high >= self.contention_low,
            c,
            "contention_high",
            "in 0..=1 and >= contention_low",
        )?;
        check(
            self.probe_factor > 1.0 && self.probe_factor.is_finite(),
            c,
            "probe_factor",
            "> 1",
        )?;
        check(
            self.model_headroom >= 1.0 && self.model_headroom.is_finite(),
            c,
            "model_headroom",
            ">= 1",
        )?;
        check(
            self.max_jump >= self.probe_factor && self.max_jump.is_finite(),
            c,
            "max_jump",
            ">= probe_factor",
        )?;
        check(self.min_window_tasks >= 1, c, "min_window_tasks", ">= 1")?;
        check(self.seek_window_tasks >= 1, c, "seek_window_tasks", ">= 1")?;
        check(
            self.min_window_intervals >= 1,
            c,
            "min_window_intervals",
            ">= 1",
        )?;
        check(
            self.window_tasks_per_thread >= 0.0,
            c,
            "window_tasks_per_thread",
            ">= 0",
        )?;
        check(pos(self.max_window_s), c, "max_window_s", "> 0")?;
        check(
            self.noise_z >= 0.0 && self.noise_z.is_finite(),
            c,
            "noise_z",
            ">= 0",
        )?;
        check(pos(self.max_probe_s), c, "max_probe_s", "> 0")?;
        check(
            self.throughput_alpha > 0.0 && unit(self.throughput_alpha),
            c,
            "throughput_alpha",
            "in (0, 1]",
        )?;
        check(
            self.beta_alpha > 0.0 && unit(self.beta_alpha),
            c,
            "beta_alpha",
            "in (0, 1]",
        )?;
        check(self.reprobe_windows >= 1, c, "reprobe_windows", ">= 1")?;
        check(
            self.reprobe_backoff_max >= 1,
            c,
            "reprobe_backoff_max",
            ">= 1",
        )?;
        check(
            self.regime_change_ratio > 1.0,
            c,
            "regime_change_ratio",
            "> 1",
        )?;
        check(self.idle_intervals >= 1, c, "idle_intervals", ">= 1")?;
        check(
            self.idle_headroom >= 1.0 && self.idle_headroom.is_finite(),
            c,
            "idle_headroom",
            ">= 1",
        )?;
        check(pos(self.leap_probe_s), c, "leap_probe_s", "> 0")?;
        check(
            self.memory_headroom > 0.0 && unit(self.memory_headroom),
            c,
            "memory_headroom",
            "in (0, 1]",
        )
    }
}

/// Sums over the intervals of one measurement window at a fixed N.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    completed: u64,
    time_s: f64,
    beta: Wsum,
    wait: Wsum,
    /// Lock-wait share alone (the part of `wait` that more threads can only make worse).
    lock: Wsum,
    /// CPU utilisation of the cores the point has, time-weighted.
    cpu: Wsum,
    /// Interval throughputs, for the window's own noise.
    rates: Moments,
    /// Tasks after which the window closes (0: not set yet; raised when inconclusive).
    need: u64,
}

/// Count, sum and sum of squares of interval throughputs.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    k: u32,
    sum: f64,
    sq: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.k += 1;
        self.sum += x;
        self.sq += x * x;
    }
}

impl Window {
    fn meas(&self, n: u32) -> Meas {
        let tps = self.completed as f64 / self.time_s;
        Meas {
            n,
            tps,
            se: self.se(tps),
            beta: self.beta.mean(),
            wait: self.wait.mean().unwrap_or(0.0),
            lock: self.lock.mean().unwrap_or(0.0),
            cpu_util: self.cpu.mean(),
        }
    }

    /// Standard error of the window's throughput `tps`: the spread of its interval
    /// throughputs over sqrt(k). Completions in a closed loop are far more regular than
    /// Poisson, so counting noise (1/sqrt(n)) would be several times too pessimistic; with
    /// fewer than 3 intervals there is no spread to go by and the Poisson bound is used.
    fn se(&self, tps: f64) -> f64 {
        let m = self.rates;
        let poisson = tps / (self.completed.max(1) as f64).sqrt();
        if m.k < 3 {
            return poisson;
        }
        let k = f64::from(m.k);
        let var = ((m.sq - m.sum * m.sum / k) / (k - 1.0)).max(0.0);
        // Floor at a quarter of the Poisson bound: a few identical intervals are not proof
        // of a noiseless window.
        (var / k).sqrt().max(poisson * 0.25)
    }
}

/// A task-weighted running mean.
#[derive(Debug, Clone, Copy, Default)]
struct Wsum {
    sum: f64,
    weight: f64,
}

impl Wsum {
    fn add(&mut self, x: Option<f64>, w: f64) {
        if let Some(x) = x {
            self.sum += x * w;
            self.weight += w;
        }
    }
    fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// One closed window: throughput and its decomposition at N threads.
#[derive(Debug, Clone, Copy)]
struct Meas {
    n: u32,
    tps: f64,
    /// Standard error of `tps`.
    se: f64,
    beta: Option<f64>,
    /// lock + run-queue wait share (0 when not measured).
    wait: f64,
    /// Lock-wait share alone.
    lock: f64,
    cpu_util: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Seek,
    Climb,
    Settled {
        windows: u32,
        started_at: Option<u32>,
    },
}

/// A throughput estimate at one N and its standard error.
#[derive(Debug, Clone, Copy, Default)]
struct Est {
    tps: f64,
    se: f64,
}

impl Est {
    /// Pools a new window into this estimate by inverse variance, the new one weighing at
    /// least `floor`.
    fn pool(self, new: Est, floor: f64) -> Est {
        let (v0, v1) = (self.se * self.se, new.se * new.se);
        let a = if v0 + v1 > 0.0 { v0 / (v0 + v1) } else { 0.5 };
        let a = a.max(floor).min(1.0);
        Est {
            tps: a * new.tps + (1.0 - a) * self.tps,
            se: (a * a * v1 + (1.0 - a) * (1.0 - a) * v0).sqrt(),
        }
    }
}

/// A move under evaluation: from `base` (measured at `base_tps`) to the current target.
#[derive(Debug, Clone, Copy)]
struct Probe {
    base: u32,
    base_tps: Est,
    /// Lock-wait share measured at the base.
    base_lock: f64,
    /// CPU utilisation measured at the base.
    base_cpu: Option<f64>,
    up: bool,
    seek: bool,
    /// An upward climb that tied with a small gain and went one step further.
    stretched: bool,
    /// A leap: kept only on a gain beyond the noise, else back to `fallback`.
    leap: bool,
    fallback: u32,
    /// Halfway back from a step up that ran into the lock (see `knee`).
    bisect: bool,
}

#[derive(Debug, Clone)]
pub struct OursController {
    p: OursParams,
    target: u32,
    mode: Mode,
    probe: Option<Probe>,
    /// Smoothed throughput per N measured in the current regime.
    table: Vec<(u32, Est)>,
    win: Window,
    /// Seconds of transient still to discard after a change.
    discard_s: f64,
    /// Last estimate of one task's wall time (N / X), for the transient.
    task_wall_s: Option<f64>,
    /// Parallelism seen when saturated, in this regime.
    p_sat: Option<f64>,
    settled_model: Option<u32>,
    backoff: u32,
    /// Consecutive settled windows that looked like a new regime.
    strikes: u32,
    idle: u32,
    lag: u32,
    beta_ewma: Option<f64>,
    vetoes: u32,
    measured_once: bool,
    /// A leap was tried in this regime.
    leapt: bool,
    /// A fallen step was measured again in this regime (see `may_recheck`).
    rechecked: bool,
    /// N whose step up the pool refused in this regime (see `best_except`).
    refused: Vec<u32>,
    /// A refused step up was probed again from the settled pool in this regime (see
    /// `revisit`).
    revisited: bool,
    /// Latest memory in use / limit.
    memory_frac: Option<f64>,
    /// Cores the point has (latest sample).
    cores: u32,
}

/// The thread count halfway between `a` and `b` on a log scale (geometric mean, rounded):
/// probe steps are ratios, so halving a step is halving its ratio.
fn halfway(a: u32, b: u32) -> u32 {
    (f64::from(a) * f64::from(b)).sqrt().round() as u32
}

impl OursController {
    pub fn new(p: OursParams) -> Self {
        let target = bounds(p.n_min, p.n_max).0;
        Self {
            discard_s: p.interval_s * 0.5,
            p,
            target,
            mode: Mode::Seek,
            probe: None,
            table: Vec::new(),
            win: Window::default(),
            task_wall_s: None,
            p_sat: None,
            settled_model: None,
            backoff: 1,
            strikes: 0,
            idle: 0,
            lag: 0,
            beta_ewma: None,
            vetoes: 0,
            measured_once: false,
            leapt: false,
            rechecked: false,
            refused: Vec::new(),
            revisited: false,
            memory_frac: None,
            cores: 1,
        }
    }

    fn bounds(&self) -> (u32, u32) {
        bounds(self.p.n_min, self.p.n_max)
    }

    fn step(&self, decision: Decision) -> Step {
        Step {
            target: self.target,
            decision,
            beta_ewma: self.beta_ewma,
            vetoes: self.vetoes,
        }
    }

    fn veto(&mut self) {
        self.vetoes = self.vetoes.saturating_add(1);
    }

    /// Tasks a window needs at the current target.
    fn window_need(&self) -> u64 {
        let need = (self.p.window_tasks_per_thread * f64::from(self.target)).ceil() as u64;
        let need = need.max(self.p.min_window_tasks).max(1);
        let seeking_up = match self.probe {
            Some(pr) => pr.seek && pr.up,
            None => self.mode == Mode::Seek,
        };
        if seeking_up {
            need.min(self.p.seek_window_tasks.max(1))
        } else {
            need
        }
    }

    /// The most threads memory allows: the memory in use grown in proportion to the
    /// threads, up to `memory_headroom` of the limit (an over-estimate, as part of the memory
    /// is not per thread). Never below the current target: this caps growth, it does not shrink.
    fn memory_cap(&self) -> u32 {
        match self.memory_frac {
            Some(f) if f > 0.0 => {
                let n = (self.p.memory_headroom * f64::from(self.target) / f).floor();
                n.min(f64::from(u32::MAX)).max(f64::from(self.target)) as u32
            }
            _ => u32::MAX,
        }
    }

    /// Moves to `n` (clamped, growth by memory too) and starts discarding the transient;
    /// returns whether it moved. Growth refused by memory is a veto.
    fn move_to(&mut self, n: u32) -> bool {
        let (lo, hi) = self.bounds();
        let mut n = n.clamp(lo, hi);
        // The cap is never below the target, so only growth is capped.
        let cap = self.memory_cap();
        if n > cap {
            n = cap;
            if n == self.target {
                self.veto();
            }
        }
        if n == self.target {
            return false;
        }
        self.target = n;
        self.win = Window::default();
        let wall = self.task_wall_s.unwrap_or(0.0).min(self.p.max_window_s);
        self.discard_s = wall.max(self.p.interval_s * 0.5);
        true
    }

    /// Forget what was measured: the workload or the demand changed.
    fn reset_regime(&mut self) {
        self.mode = Mode::Seek;
        self.probe = None;
        self.table.clear();
        self.refused.clear();
        self.p_sat = None;
        self.settled_model = None;
        self.backoff = 1;
        self.leapt = false;
        self.rechecked = false;
        self.revisited = false;
    }

    /// The best estimate at any N but `except` and those whose step up was refused: a step
    /// down must stay within the margin of it (not each step of the one before, which would
    /// ratchet a flat top down by losses each under the noise), but a refused step's point
    /// estimate is the noisy maximum the pool already judged no real gain (agent-orchestration
    /// two cores gil: 23 threads read 104 against 97 at 15 and were refused under the lock;
    /// 10 then read 98, lost to 104, and the pool stayed at 15 against a best fixed pool of 8,
    /// P99 2.4x).
    fn best_except(&self, except: u32) -> Est {
        self.table
            .iter()
            .filter(|e| e.0 != except && !self.refused.contains(&e.0))
            .map(|e| e.1)
            .fold(Est::default(), |a, b| if b.tps > a.tps { b } else { a })
    }

    /// What `record` would make of this window, without storing it.
    fn pooled(&self, m: &Meas) -> Est {
        let new = Est {
            tps: m.tps,
            se: m.se,
        };
        match self.table.iter().find(|e| e.0 == m.n) {
            Some(e) => e.1.pool(new, self.p.throughput_alpha),
            None => new,
        }
    }

    fn record(&mut self, m: &Meas) -> Est {
        let est = self.pooled(m);
        match self.table.iter_mut().find(|e| e.0 == m.n) {
            Some(e) => e.1 = est,
            None => self.table.push((m.n, est)),
        }
        est
    }

    /// The change from `base` to `new` that counts: the margin, or `noise_z` standard errors
    /// of the difference when the windows are noisier than that (relative to `base`).
    fn threshold(&self, base: Est, new: Est) -> f64 {
        let se = (base.se * base.se + new.se * new.se).sqrt();
        self.p.margin.max(self.p.noise_z * se / base.tps.max(1e-9))
    }

    /// The pending probe's relative change against its reference (the base when going up,
    /// the best elsewhere when going down), and the change that counts; None without a
    /// reference.
    fn change(&self, pr: &Probe, now: Est) -> Option<(f64, f64)> {
        let base = if pr.up {
            pr.base_tps
        } else {
            self.best_except(self.target)
        };
        if base.tps <= 0.0 {
            return None;
        }
        Some((now.tps / base.tps - 1.0, self.threshold(base, now)))
    }

    /// How the pending probe compares: Some(true) a real gain (up) or no real loss (down),
    /// Some(false) the opposite, None when the difference is within the noise.
    fn verdict(&self, pr: &Probe, now: Est) -> Option<bool> {
        let Some((change, thr)) = self.change(pr, now) else {
            return Some(true);
        };
        if change > thr {
            Some(true)
        } else if change < -thr {
            Some(false)
        } else {
            None
        }
    }

    /// A probe still within the noise when it may last no longer: the point estimate
    /// decides, with `margin` as a dead band in which fewer threads win (less latency, less
    /// memory). A step up is also kept while the cores are not yet busy, or when it raised
    /// their use by more than the margin: there small gains below the noise add up (native
    /// code, variable I/O, the last idle CPU on one core); a step down that left them idle by
    /// more than the margin lost, whatever the task counts say. Neither while the lock is the
    /// bottleneck (lock wait >= `contention_low`): there a thread more only queues for it,
    /// and on a flat plateau a noisy point gain would walk the pool up, adding latency; but
    /// CPU use still decides while the lower N left part of a core idle (`under_a_core`).
    /// Letting every tie go down ratcheted flat-topped CPU-bound optima down by steps each
    /// losing a little less than the noise (speech-features settled at 89 %). A step halfway
    /// back from the lock (`knee`) is kept on its point gain (or CPU gain under a core)
    /// alone: the lock binds above it.
    fn tie_break(&self, pr: &Probe, now: Est, m: &Meas) -> bool {
        let change = self.change(pr, now).map_or(0.0, |c| c.0);
        let cpu_gain = self.cpu_change(pr, m) > self.p.margin;
        // A CPU gain that counts whatever the lock: the base left part of a core idle.
        let filled_a_core = cpu_gain && self.under_a_core(pr.base_cpu);
        if pr.up && pr.bisect {
            change > self.p.margin || filled_a_core
        } else if pr.up {
            // With the lock free and the cores already full at the base, a point gain without
            // more CPU use is noise: the extra threads can only queue for the cores (micro,
            // one core gil: 7 -> 11 -> 17 threads on +5 % and -3 % reads, CPU 1.00 throughout,
            // P99 2.3x that of the best fixed pool, 8).
            let point_gain = change > self.p.margin && !self.cores_full(pr.base_cpu);
            (self.lock_free(m) && (point_gain || self.room_to_grow(m) || cpu_gain)) || filled_a_core
        } else {
            let idled = self.cpu_change(pr, m) < -self.p.margin;
            change >= -self.p.margin && !(idled && (self.lock_free(m) || self.under_a_core(m.cpu_util)))
        }
    }

    /// CPU use (a share of the point's cores) below `cpu_busy` of one core. The lock lets one
    /// thread run Python at a time, so while the process leaves part of a core idle, CPU use
    /// tracks the work done even when threads wait for the lock: they wait on each other's
    /// hand-offs while, at other moments, all of them are off in I/O and the core idles. Near
    /// and beyond a core the extra CPU under a contended lock is native code or switching
    /// overhead (micro, two cores: 1.24 -> 1.30 cores from 8 to 16 threads while throughput
    /// fell 4 %; agent-orchestration, two cores: 0.98 -> 1.02 cores from 8 to 15, flat).
    /// agent-orchestration on one core, gil: 7 -> 11 threads raised CPU use 0.94 -> 1.00 with
    /// the lock waited on 0.3-0.5 of the time, a tie in task counts; the pool went back to 7
    /// (76-87 % of the best fixed pool, 8 -> 16 threads gaining 5 % in the fixed sweep).
    fn under_a_core(&self, cpu_util: Option<f64>) -> bool {
        cpu_util.is_some_and(|u| u * f64::from(self.cores) < self.p.cpu_busy)
    }

    /// CPU use (a share of the point's cores) at `cpu_full` or above.
    fn cores_full(&self, cpu_util: Option<f64>) -> bool {
        cpu_util.is_some_and(|u| u >= self.p.cpu_full)
    }

    /// Relative change of CPU utilisation from the probe's base to `m` (0 unless both were
    /// measured). With the lock free a task costs about the same CPU at any N, so CPU use
    /// tracks throughput with far less noise than the task counts of a window: vision on one
    /// core gains ~8 % from 9 to 14 threads (CPU 0.90 -> 0.98) while its 250 ms throughput
    /// samples swing +-15 %, and ties there walked the pool down to 6 or 4 (92-96 % of the
    /// best fixed pool).
    fn cpu_change(&self, pr: &Probe, m: &Meas) -> f64 {
        match (pr.base_cpu, m.cpu_util) {
            (Some(b), Some(now)) if b > 0.0 => now / b - 1.0,
            _ => 0.0,
        }
    }

    /// How long a probe may be measured: a leap, and a step up whose point estimate gains
    /// more than twice the margin (a gain worth having, not yet beyond the noise), get
    /// `leap_probe_s`; others `max_probe_s`.
    fn probe_limit_s(&self, pr: &Probe, now: Est) -> f64 {
        let promising = pr.up
            && self
                .change(pr, now)
                .is_some_and(|c| c.0 > 2.0 * self.p.margin);
        if pr.leap || promising {
            self.p.leap_probe_s
        } else {
            self.p.max_probe_s
        }
    }

    /// A step up that ended within the noise with a point gain beyond the margin while the
    /// lock became the bottleneck: the knee of the curve lies between the base and the step,
    /// so the pool tries halfway (geometrically) before giving the gain up. Some(halfway)
    /// when there is a thread count in between. At such knees (rag-pipeline 26 -> 39,
    /// agent-orchestration 8 -> 12, one core gil) the step read +4..+20 % and the pool went
    /// back to the base, 4-6 % under the best fixed pool; the whole step would cost ~1.4x the
    /// latency, as a task's wall time grows with N once the lock is saturated.
    fn knee(&self, pr: &Probe, verdict: Option<bool>, now: Est, m: &Meas, queue: bool) -> Option<u32> {
        let gain = self.change(pr, now).is_some_and(|c| c.0 > self.p.margin);
        let fresh = pr.up && !pr.seek && !pr.leap && !pr.bisect;
        if !(fresh && verdict.is_none() && gain && queue && !self.lock_free(m)) {
            return None;
        }
        let mid = halfway(pr.base, self.target);
        (mid > pr.base && mid < self.target).then_some(mid)
    }

    /// Little's-law estimate `P * (1 + r)` (see the module docs), None without a beta.
    fn model(&mut self, m: &Meas, cores: u32) -> Option<u32> {
        let beta = m.beta?;
        let cpu = (1.0 - beta).max(1e-3);
        let io = (beta - m.wait).max(0.0);
        let r = io / cpu;
        let cores = f64::from(cores.max(1));
        let in_use = (f64::from(m.n) * cpu).clamp(0.1, cores);
        if m.wait >= self.p.contention_low {
            self.p_sat = Some(in_use);
        }
        let p = self.p_sat.unwrap_or(cores).max(in_use);
        let (lo, hi) = self.bounds();
        let n = (p * (1.0 + r) * self.p.model_headroom).ceil();
        Some(n.clamp(f64::from(lo), f64::from(hi)) as u32)
    }

    /// Idle CPU and little lock waiting: more threads can still turn waiting into work.
    fn room_to_grow(&self, m: &Meas) -> bool {
        self.spare_cpu(m, self.p.cpu_busy)
    }

    /// CPU use below `below` with the lock free.
    fn spare_cpu(&self, m: &Meas, below: f64) -> bool {
        m.cpu_util.is_some_and(|u| u < below) && self.lock_free(m)
    }

    /// Growth is not vetoed: waits below `contention_high`, or high waits while the cores
    /// are not full and the lock is free (bursts: threads queue for the CPU at times and
    /// leave it idle at others, and more threads fill the gaps). Vision on one core waited
    /// 0.80 in the run queue at 9 threads with the core 96 % used, and 14 threads did ~8 %
    /// more; a step that fills nothing is still rejected by its probe (`tie_break`).
    fn may_grow(&self, m: &Meas) -> bool {
        m.wait < self.p.contention_high || self.spare_cpu(m, self.p.cpu_full)
    }

    /// The lock is not the bottleneck.
    fn lock_free(&self, m: &Meas) -> bool {
        m.lock < self.p.contention_low
    }

    /// Whether an estimate lost to `than` beyond the noise.
    fn lost(&self, e: Est, than: Est) -> bool {
        than.tps > 0.0 && e.tps / than.tps - 1.0 < -self.threshold(than, e)
    }

    /// Where to probe below `from` (measured at `than`): a `probe_factor` step, or, when an
    /// N in that step was measured in this regime and lost to `than`, halfway (geometrically)
    /// between the largest such N and `from`; None when no thread count is left in between.
    /// Above the knee of a throughput curve every extra thread only queues (under a lock a
    /// task's wall time grows with N), so the smallest N within the margin of the best is the
    /// one to hold, and 1.5x steps are too coarse to find it (7 -> 11 threads is +57 % latency).
    fn next_down(&self, from: u32, than: Est) -> Option<u32> {
        let step = self.down_from(from).max(self.bounds().0);
        let worse = self
            .table
            .iter()
            .filter(|e| e.0 >= step && e.0 < from && self.lost(e.1, than))
            .map(|e| e.0)
            .max();
        let n = match worse {
            None => step,
            Some(w) => halfway(w, from),
        };
        (n >= self.bounds().0 && n < from && worse.is_none_or(|w| n > w)).then_some(n)
    }

    fn up_from(&self, n: u32) -> u32 {
        ((f64::from(n) * self.p.probe_factor).round() as u32).max(n.saturating_add(1))
    }

    fn down_from(&self, n: u32) -> u32 {
        ((f64::from(n) / self.p.probe_factor).round() as u32).min(n.saturating_sub(1))
    }

    fn start_probe(&mut self, n: u32, up: bool, seek: bool, base: &Meas, base_tps: Est) -> bool {
        if self.move_to(n) {
            self.probe = Some(Probe {
                base: base.n,
                base_tps,
                base_lock: base.lock,
                base_cpu: base.cpu_util,
                up,
                seek,
                stretched: false,
                leap: false,
                fallback: base.n,
                bisect: false,
            });
            true
        } else {
            false
        }
    }

    fn settle(&mut self, model: Option<u32>) {
        let started_at = match self.mode {
            Mode::Settled { started_at, .. } => started_at,
            _ => None,
        };
        // A re-probe that ended where it began: wait longer before the next one.
        self.backoff = match started_at {
            Some(n) if n == self.target => {
                (self.backoff * 2).min(self.p.reprobe_backoff_max.max(1))
            }
            Some(_) => 1,
            None => self.backoff,
        };
        self.mode = Mode::Settled {
            windows: 0,
            started_at: None,
        };
        self.settled_model = model;
    }

    /// A rejected step up: back to the base, or straight past it downwards when the lock was
    /// the bottleneck at the base or throughput `fell`. Run-queue wait alone is no reason: on
    /// one core it is 0.6-0.85 at any N >= 4 (threads take turns on the core; fewer gain
    /// nothing), and every tied step up there walked the pool below its base (vision one
    /// core: 14 -> 6 from a base of 9; native-compute one core: 6 -> 3 from 4, 94 %).
    fn reject_up(&mut self, pr: &Probe, fell: bool, model: Option<u32>) -> Decision {
        self.refuse_target();
        let lock_bound = pr.base_lock >= self.p.contention_low;
        let down = self.next_down(pr.base, pr.base_tps);
        if let Some(down) = down.filter(|_| !pr.seek && (lock_bound || fell)) {
            self.move_to(down);
            self.probe = Some(Probe {
                up: false,
                leap: false,
                bisect: false,
                ..*pr
            });
        } else {
            self.back_to_base(pr, model);
        }
        Decision::Veto
    }

    /// The pool leaves the N it stepped up to without keeping it.
    fn refuse_target(&mut self) {
        if !self.refused.contains(&self.target) {
            self.refused.push(self.target);
        }
    }

    /// Settled, with the lock free, at an N whose estimate now loses beyond the noise to that
    /// of a step up the pool refused from it: the refusal was judged against a base window
    /// that read high, as the settled windows since show. Returns the smallest such N, to be
    /// probed again from here, once per regime. Vision on one core, gil: 6 threads read 109
    /// over their first second, 9 read 111 and were refused on the tie rule, and 6 then read
    /// 95-96 for 12 s (86 % of the best fixed pool, where fixed 8-32 read 109-113).
    fn revisit(&self, now: Est, m: &Meas, queue: bool) -> Option<u32> {
        if self.revisited || !queue || !self.lock_free(m) || !self.may_grow(m) {
            return None;
        }
        self.table
            .iter()
            .filter(|e| e.0 > self.target && self.refused.contains(&e.0) && self.lost(now, e.1))
            .map(|e| e.0)
            .min()
    }

    /// A step up fell beyond the noise with the lock free at the base and at the step: the
    /// first time in a regime the fall is measured again before it is believed. This machine
    /// has spells of a second or so in which everything runs ~30 % slower at a constant N
    /// (agent-orchestration on one core, free-threaded: 60-63 TPS at 9 threads between
    /// 85-95); one of them in a step's window read 9 -> 14 as a fall, and the pool stayed at
    /// 9 where the fixed pools rise up to 64 threads (79 % of the best). With the lock
    /// saturated a fall is what more threads do, and is believed at once.
    fn may_recheck(&self, pr: &Probe, m: &Meas, queue: bool) -> bool {
        !self.rechecked && !pr.seek && queue && self.lock_free(m) && pr.base_lock < self.p.contention_low
    }

    /// Back to the probe's base: a failed seek goes on by small steps from there, a failed
    /// climb settles.
    fn back_to_base(&mut self, pr: &Probe, model: Option<u32>) {
        self.move_to(pr.base);
        if pr.seek {
            self.mode = Mode::Climb;
        } else {
            self.settle(model);
        }
    }

    /// Climb from the current, measured N: up while allowed, else down while waiting.
    fn climb(&mut self, m: &Meas, model: Option<u32>, tps: Est, queue: bool) -> Decision {
        let hi = self.bounds().1;
        self.mode = match self.mode {
            Mode::Settled { started_at, .. } => Mode::Settled {
                windows: 0,
                started_at,
            },
            _ => Mode::Climb,
        };
        let mut vetoed = false;
        if self.target < hi && queue {
            if self.may_grow(m) {
                let n = self.up_from(self.target);
                if self.start_probe(n, true, false, m, tps) {
                    return Decision::Grow;
                }
            } else {
                self.veto();
                vetoed = true;
            }
        }
        let down = self.next_down(self.target, tps).filter(|_| m.wait >= self.p.contention_low);
        if let Some(n) = down {
            if self.start_probe(n, false, false, m, tps) {
                return if vetoed {
                    Decision::Veto
                } else {
                    Decision::Shrink
                };
            }
        }
        self.settle(model);
        if vetoed {
            Decision::Veto
        } else {
            Decision::Hold
        }
    }

    /// Model-guided move from the current, measured N.
    fn seek(&mut self, m: &Meas, model: Option<u32>, tps: Est, queue: bool) -> Decision {
        let Some(nm) = model else {
            return self.climb(m, model, tps, queue);
        };
        let n = f64::from(self.target);
        let f = self.p.probe_factor;
        if f64::from(nm) >= n * f && queue && self.may_grow(m) {
            let to = f64::from(nm).min(n * self.p.max_jump).round() as u32;
            if self.start_probe(to, true, true, m, tps) {
                return Decision::Grow;
            }
        } else if f64::from(nm) <= n / f {
            let to = f64::from(nm).max(n / self.p.max_jump).round() as u32;
            if self.start_probe(to, false, true, m, tps) {
                return Decision::Shrink;
            }
        }
        self.climb(m, model, tps, queue)
    }

    /// A window closed at the current target: judge the pending probe or plan the next move.
    fn on_measurement(&mut self, m: Meas, cores: u32, queue: bool) -> Decision {
        let tps = self.record(&m);
        if tps.tps > 0.0 {
            self.task_wall_s = Some(f64::from(m.n) / tps.tps);
        }
        let model = self.model(&m, cores);
        if let Some(pr) = self.probe.take() {
            let verdict = self.verdict(&pr, tps);
            if pr.leap && verdict != Some(true) {
                // No gain beyond the noise: back to where the steps had got to.
                self.veto();
                if pr.fallback == pr.base {
                    return self.reject_up(&pr, false, model);
                }
                self.refuse_target();
                self.move_to(pr.fallback);
                self.settle(model);
                return Decision::Veto;
            }
            let small_gain = self.change(&pr, tps).is_some_and(|c| c.0 > 0.0);
            let may_go_on = verdict.is_none()
                && pr.up
                && !pr.seek
                && !pr.bisect
                && small_gain
                && self.lock_free(&m)
                && queue
                && self.may_grow(&m);
            // Two steps up that tied with a small gain: leap one step further with a longer
            // look, once per regime. Curves that rise by a per cent or two per step (more
            // threads filling the last idle CPU, native code on several cores) add up to
            // gains no single step can tell from the noise.
            if may_go_on && pr.stretched && !pr.leap && !self.leapt {
                let fallback = if self.tie_break(&pr, tps, &m) {
                    self.target
                } else {
                    pr.base
                };
                if self.move_to(self.up_from(self.target)) {
                    self.leapt = true;
                    self.probe = Some(Probe {
                        leap: true,
                        fallback,
                        ..pr
                    });
                    return Decision::Grow;
                }
            }
            // Before the tie rule, which may keep a step into the lock on its CPU gain alone:
            // with a point gain too, halfway holds it with less latency.
            if let Some(mid) = self.knee(&pr, verdict, tps, &m, queue) {
                self.veto();
                self.refuse_target();
                self.move_to(mid);
                self.probe = Some(Probe { bisect: true, ..pr });
                return Decision::Veto;
            }
            let accepted = verdict.unwrap_or_else(|| self.tie_break(&pr, tps, &m));
            if accepted {
                let kept = self.target;
                self.refused.retain(|n| *n != kept);
                return if pr.seek {
                    self.seek(&m, model, tps, queue)
                } else if pr.up {
                    // Kept a gain; keep climbing up, or stop (never probe back below it).
                    // Halfway to the lock is as far as it goes.
                    if pr.bisect {
                        self.settle(model);
                        Decision::Hold
                    } else if self.may_grow(&m) && queue {
                        self.climb(&m, model, tps, queue)
                    } else {
                        self.veto();
                        self.settle(model);
                        Decision::Veto
                    }
                } else if let Some(n) =
                    self.next_down(self.target, tps).filter(|_| m.wait >= self.p.contention_low)
                {
                    if self.start_probe(n, false, false, &m, tps) {
                        Decision::Shrink
                    } else {
                        self.settle(model);
                        Decision::Hold
                    }
                } else {
                    self.settle(model);
                    Decision::Hold
                };
            }
            // A climb that tied with a small gain: go one step further before giving up,
            // judged against the same base. Curves that keep rising a little per step
            // (native code on several cores) otherwise stop at the first step.
            if may_go_on && !pr.stretched && self.move_to(self.up_from(self.target)) {
                self.probe = Some(Probe {
                    stretched: true,
                    ..pr
                });
                return Decision::Grow;
            }
            if pr.up && verdict == Some(false) && self.may_recheck(&pr, &m, queue) {
                // Judged again on a fresh window; this one is forgotten.
                self.rechecked = true;
                self.table.retain(|e| e.0 != m.n);
                self.probe = Some(pr);
                return Decision::Hold;
            }
            if pr.up {
                self.veto();
                return self.reject_up(&pr, verdict == Some(false), model);
            }
            self.back_to_base(&pr, model);
            return Decision::Grow;
        }
        match self.mode {
            Mode::Seek => self.seek(&m, model, tps, queue),
            Mode::Climb => self.climb(&m, model, tps, queue),
            Mode::Settled {
                windows,
                started_at,
            } => {
                let changed_model = match (model, self.settled_model) {
                    (Some(a), Some(b)) => {
                        let ratio = f64::from(a.max(b)) / f64::from(a.min(b).max(1));
                        ratio > self.p.regime_change_ratio
                    }
                    _ => false,
                };
                // Two windows in a row, so that one noisy window does not restart the search.
                self.strikes = if changed_model {
                    self.strikes + 1
                } else {
                    0
                };
                if self.strikes >= 2 {
                    self.strikes = 0;
                    self.reset_regime();
                    self.record(&m);
                    return self.seek(&m, model, tps, queue);
                }
                if let Some(n) = self.revisit(tps, &m, queue) {
                    // Measured afresh, against the settled N's fresh estimate.
                    self.revisited = true;
                    self.refused.retain(|r| *r != n);
                    self.table.retain(|e| e.0 != n);
                    self.mode = Mode::Settled {
                        windows: 0,
                        started_at: Some(self.target),
                    };
                    if self.start_probe(n, true, false, &m, tps) {
                        return Decision::Grow;
                    }
                }
                let windows = windows + 1;
                let due = self.p.reprobe_windows.saturating_mul(self.backoff.max(1));
                if windows >= due {
                    // Old measurements are stale: keep only this N.
                    self.table.retain(|e| e.0 == m.n);
                    self.refused.clear();
                    self.revisited = false;
                    self.mode = Mode::Settled {
                        windows: 0,
                        started_at: Some(self.target),
                    };
                    let d = self.climb(&m, model, tps, queue);
                    return d;
                }
                self.mode = Mode::Settled {
                    windows,
                    started_at,
                };
                Decision::Hold
            }
        }
    }

    /// Queue empty for a while: shrink towards the number of tasks in flight.
    fn on_idle(&mut self, s: &Sample, beta: Option<f64>) -> Decision {
        let (lo, _) = self.bounds();
        let half = self.target.div_ceil(2).max(lo);
        let cpu_util = frac(Some(s.cpu_util));
        let busy = match (beta, cpu_util) {
            (Some(b), Some(u)) if b < 0.999 => Some(u * f64::from(s.cores.max(1)) / (1.0 - b)),
            _ => None,
        };
        let want = match busy {
            Some(b) => ((b * self.p.idle_headroom).ceil() as u32).max(half),
            None => half,
        };
        self.idle = 0;
        if want < self.target && self.move_to(want) {
            self.reset_regime();
            Decision::Shrink
        } else {
            Decision::Hold
        }
    }
}

impl Controller for OursController {
    fn name(&self) -> &'static str {
        "adaptive"
    }

    fn initial_threads(&self, cores: u32) -> u32 {
        let (lo, hi) = self.bounds();
        let per_core = (f64::from(cores.max(1)) * self.p.initial_per_core).round() as u32;
        per_core.max(self.p.initial_min).clamp(lo, hi)
    }

    fn interval_s(&self) -> f64 {
        self.p.interval_s
    }

    fn decide(&mut self, s: &Sample) -> Step {
        let beta = frac(s.beta);
        self.memory_frac = s.memory_frac.filter(|f| f.is_finite() && *f > 0.0);
        self.cores = s.cores.max(1);
        if let Some(b) = beta {
            let a = self.p.beta_alpha.clamp(0.0, 1.0);
            self.beta_ewma = Some(self.beta_ewma.map_or(b, |e| a * b + (1.0 - a) * e));
        }
        let hold = if self.measured_once {
            Decision::Hold
        } else {
            Decision::Warmup
        };
        let (lo, hi) = self.bounds();
        if !self.measured_once && self.lag == 0 && s.threads != self.target {
            // First call: adopt the pool's size (the caller used initial_threads).
            self.target = s.threads.clamp(lo, hi);
        }
        let dt = if s.interval_s.is_finite() && s.interval_s > 0.0 {
            s.interval_s
        } else {
            0.0
        };

        if s.queue_len == 0 {
            // Demand-limited: throughput says nothing about capacity. Drop the window and
            // any probe, and shrink once the queue has stayed empty for a while.
            self.win = Window::default();
            self.probe = None;
            self.idle += 1;
            if self.idle >= self.p.idle_intervals {
                let d = self.on_idle(s, beta);
                return self.step(d);
            }
            return self.step(hold);
        }
        self.idle = 0;

        if s.threads != self.target {
            // The pool has not reached the target yet; after a while, believe the pool.
            self.win = Window::default();
            self.lag += 1;
            if self.lag > 8 {
                self.lag = 0;
                self.target = s.threads.clamp(lo, hi);
                self.reset_regime();
            }
            return self.step(hold);
        }
        self.lag = 0;

        if self.discard_s > 1e-9 {
            self.discard_s -= dt.max(self.p.interval_s * 0.5);
            return self.step(hold);
        }

        let w = s.completed as f64;
        self.win.completed = self.win.completed.saturating_add(s.completed);
        self.win.time_s += dt;
        self.win.beta.add(beta, w);
        let wait = match (frac(s.lock_wait_frac), frac(s.runq_wait_frac)) {
            (None, None) => None,
            (a, b) => Some((a.unwrap_or(0.0) + b.unwrap_or(0.0)).min(1.0)),
        };
        self.win.wait.add(wait, w);
        self.win.lock.add(frac(s.lock_wait_frac), w);
        self.win.cpu.add(frac(Some(s.cpu_util)), dt);
        if dt > 0.0 {
            self.win.rates.add(s.completed as f64 / dt);
        }

        if self.win.need == 0 {
            self.win.need = self.window_need();
        }
        let full = self.win.completed >= self.win.need
            && self.win.rates.k >= self.p.min_window_intervals
            && self.win.time_s > 0.0;
        let timed_out = self.win.time_s >= self.p.max_window_s;
        if !full && !timed_out {
            return self.step(hold);
        }
        if self.win.completed == 0 || self.win.time_s <= 0.0 {
            // Tasks longer than max_window_s: nothing to judge by; keep going.
            self.win = Window::default();
            return self.step(hold);
        }
        let m = self.win.meas(self.target);
        if let Some(pr) = self.probe {
            // A probe whose change is still within the noise: look again after the next
            // interval, as long as the probe may last (a sequential test).
            let now = self.pooled(&m);
            let room = self.win.time_s + dt <= self.probe_limit_s(&pr, now).min(self.p.max_window_s);
            if room && self.verdict(&pr, now).is_none() {
                self.win.need = self.win.completed.saturating_add(1);
                return self.step(hold);
            }
        }
        self.win = Window::default();
        self.measured_once = true;
        let d = self.on_measurement(m, s.cores, true);
        self.step(d)
    }

    fn spec(&self) -> ControllerSpec {
        ControllerSpec::Ours(self.p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sim::{self, Model, Workload};
    use super::super::{PaperController, PaperParams};
    use super::*;

    const RUN_S: f64 = 60.0;

    fn ours() -> OursController {
        OursController::new(OursParams::default())
    }

    fn sample(
        threads: u32,
        queue_len: usize,
        completed: u64,
        beta: Option<f64>,
        wait: f64,
    ) -> Sample {
        Sample {
            t_s: 0.0,
            interval_s: 0.25,
            threads,
            queue_len,
            completed,
            beta,
            lock_wait_frac: beta.map(|_| wait),
            runq_wait_frac: beta.map(|_| 0.0),
            cpu_util: 0.5,
            cores: 1,
            memory_frac: None,
        }
    }

    /// Feeds `max` samples, each at the target the controller asked for last.
    fn drive(c: &mut OursController, max: usize, make: impl FnMut(u32) -> Sample) -> Vec<Step> {
        let n = c.initial_threads(4);
        drive_from(c, n, max, make)
    }

    fn drive_from(
        c: &mut OursController,
        mut n: u32,
        max: usize,
        mut make: impl FnMut(u32) -> Sample,
    ) -> Vec<Step> {
        let mut out = Vec::new();
        for _ in 0..max {
            let st = c.decide(&make(n));
            n = st.target;
            out.push(st);
        }
        out
    }

    #[test]
    fn reaches_the_optimum_in_every_simulated_case() {
        for w in sim::cases() {
            let model = Model::new(w);
            let out = sim::run(&model, &mut ours(), RUN_S);
            let (reach_s, reach_i) = out.reach(0.95).unwrap_or((f64::INFINITY, usize::MAX));
            let eff = out.efficiency_after(RUN_S / 2.0);
            // Long tasks (2 s) need longer windows: allow more intervals there.
            let k = if w.io_s > 1.0 { 120 } else { 60 };
            assert!(
                reach_i <= k,
                "{}: reached 95 % after {reach_i} intervals ({reach_s} s)",
                w.name
            );
            assert!(
                eff >= 0.95,
                "{}: efficiency {eff:.3} over the last 30 s (final N {}, optimum N {})",
                w.name,
                out.final_n,
                out.n_opt
            );
        }
    }

    #[test]
    fn beats_the_paper_on_io_heavy_and_cpu_bound() {
        for name in [
            "io-heavy-gil-1c",
            "io-heavy-ft-4c",
            "cpu-gil-1c",
            "cpu-gil-4c",
            "cpu-ft-4c",
        ] {
            let w = sim::cases().into_iter().find(|w| w.name == name).unwrap();
            let model = Model::new(w);
            let o = sim::run(&model, &mut ours(), RUN_S).efficiency_after(RUN_S / 2.0);
            let mut paper = PaperController::new(PaperParams::default());
            let p = sim::run(&model, &mut paper, RUN_S).efficiency_after(RUN_S / 2.0);
            assert!(o > p, "{name}: ours {o:.3} vs paper {p:.3}");
        }
    }

    #[test]
    fn robust_to_more_noise() {
        for w in sim::cases() {
            let w = Workload { noise: 0.05, ..w };
            let out = sim::run(&Model::new(w), &mut ours(), 120.0);
            let eff = out.efficiency_after(60.0);
            assert!(eff >= 0.9, "{}: efficiency {eff:.3} with 5 % noise", w.name);
        }
    }

    /// The table the report quotes: run with `--nocapture`.
    #[test]
    fn simulator_table() {
        use super::super::{BetapoolController, BetapoolParams};
        println!("case                 N_opt  ctl                reach95(s/int)  final_N  eff(last30s) vetoes");
        for w in sim::cases() {
            let model = Model::new(w);
            let ctls: Vec<Box<dyn Controller>> = vec![
                Box::new(PaperController::new(PaperParams::default())),
                Box::new(BetapoolController::new(BetapoolParams::default())),
                Box::new(ours()),
            ];
            for mut c in ctls {
                let out = sim::run(&model, c.as_mut(), RUN_S);
                let reach = out
                    .reach(0.95)
                    .map_or("never".to_string(), |(s, i)| format!("{s:.2}/{i}"));
                println!(
                    "{:<20} {:>5}  {:<18} {:>14}  {:>7}  {:>11.3}  {:>5}",
                    w.name,
                    out.n_opt,
                    c.name(),
                    reach,
                    out.final_n,
                    out.efficiency_after(RUN_S / 2.0),
                    out.vetoes
                );
            }
        }
    }

    #[test]
    fn bounds_are_respected() {
        let w = sim::cases()
            .into_iter()
            .find(|w| w.name == "io-heavy-gil-1c")
            .unwrap();
        let mut c = OursController::new(OursParams {
            n_max: 16,
            ..Default::default()
        });
        let out = sim::run(&Model::new(w), &mut c, 30.0);
        assert!(out.trace.iter().all(|e| e.1 <= 16));
        assert_eq!(out.final_n, 16);
        let w = sim::cases()
            .into_iter()
            .find(|w| w.name == "cpu-gil-4c")
            .unwrap();
        let mut c = OursController::new(OursParams {
            n_min: 3,
            ..Default::default()
        });
        let out = sim::run(&Model::new(w), &mut c, 30.0);
        assert!(out.trace.iter().all(|e| e.1 >= 3));
    }

    #[test]
    fn zero_completion_intervals_are_not_a_drop() {
        // Tasks of ~2 s at 8 threads: most 0.25 s intervals complete nothing.
        let mut c = ours();
        let steps = drive(&mut c, 20, |n| sample(n, 100, 0, None, 0.0));
        assert!(steps
            .iter()
            .all(|s| s.target == 8 && s.decision == Decision::Warmup));
        // Then a trickle: 1 task per interval at beta 0.99 -> the seeking window closes at 4
        // tasks and the Little's-law model (r = 99) asks for more threads, never fewer.
        let steps = drive(&mut c, 4, |n| sample(n, 100, 1, Some(0.99), 0.0));
        assert!(steps[..3].iter().all(|s| s.target == 8), "{steps:?}");
        assert_eq!(steps[3].decision, Decision::Grow);
        assert_eq!(steps[3].target, 64, "jump capped at max_jump = 8x");
        // At 64, nothing completes for a while: no judgement (no drop, no veto), only holds.
        let steps = drive_from(&mut c, 64, 30, |n| sample(n, 100, 0, None, 0.0));
        assert!(steps
            .iter()
            .all(|s| s.target == 64 && s.decision == Decision::Hold && s.vetoes == 0));
    }

    #[test]
    fn contention_vetoes_growth_and_probes_down() {
        let mut c = ours();
        // 8 threads, all waiting for the lock (CPU-bound under a GIL): beta 0.875, wait 0.875.
        let steps = drive(&mut c, 6, |n| sample(n, 100, 50, Some(0.875), 0.875));
        // Saturated: P = 8 * 0.125 = 1, r = 0 -> N* = ceil(1 * 1.25) = 2, a seek jump down.
        let first = steps
            .iter()
            .find(|s| s.decision != Decision::Warmup)
            .unwrap();
        assert_eq!((first.decision, first.target), (Decision::Shrink, 2));

        // I/O-looking at 8 (beta 0.99, no wait): seek up to 64 ...
        let mut c = ours();
        let steps = drive(&mut c, 6, |n| sample(n, 100, 50, Some(0.99), 0.0));
        let first = steps
            .iter()
            .find(|s| s.decision != Decision::Warmup)
            .unwrap();
        assert_eq!((first.decision, first.target), (Decision::Grow, 64));
        // ... where throughput falls and waits are high: growth vetoed, back to 8 (after
        // lengthening the window: one-interval windows are noisy).
        let mut veto = None;
        for _ in 0..24 {
            let st = c.decide(&sample(64, 100, 40, Some(0.99), 0.6));
            if st.decision == Decision::Veto {
                veto = Some(st);
                break;
            }
            assert_eq!(st.target, 64, "holds while measuring: {st:?}");
        }
        let veto = veto.expect("a veto within 6 s");
        assert_eq!((veto.target, veto.vetoes), (8, 1));
        // Measured again at 8 with high waits: growth vetoed (counted), probe down instead.
        let steps = drive_from(&mut c, 8, 8, |n| sample(n, 100, 50, Some(0.85), 0.8));
        let veto = steps.iter().find(|s| s.decision == Decision::Veto).unwrap();
        assert_eq!(veto.vetoes, 2);
        assert!(veto.target < 8, "{steps:?}");
    }

    /// A fresh step up from `base` (no lock wait, no CPU measured there).
    fn up_probe(base: u32, base_tps: Est) -> Probe {
        Probe {
            base,
            base_tps,
            base_lock: 0.0,
            base_cpu: None,
            up: true,
            seek: false,
            stretched: false,
            leap: false,
            fallback: base,
            bisect: false,
        }
    }

    #[test]
    fn ties_go_by_the_point_estimate_with_the_margin_as_dead_band() {
        let mut c = ours();
        let est = |tps| Est { tps, se: 5.0 };
        c.table = vec![(4, est(100.0))];
        c.target = 3;
        let down = Probe { base_lock: 0.5, base_cpu: Some(1.0), up: false, ..up_probe(4, est(100.0)) };
        let m = |cpu_util, lock| Meas {
            n: 3,
            tps: 0.0,
            se: 0.0,
            beta: Some(0.5),
            wait: lock,
            lock,
            cpu_util: Some(cpu_util),
        };
        // 2 standard errors of the difference are 14 %: both are ties.
        assert_eq!(c.verdict(&down, est(95.0)), None);
        assert_eq!(c.verdict(&down, est(99.0)), None);
        // 5 % below the best is a loss that only the noise hid: stay at 4.
        assert!(!c.tie_break(&down, est(95.0), &m(1.0, 0.5)));
        // Within the 2 % margin: fewer threads for the same work.
        assert!(c.tie_break(&down, est(99.0), &m(1.0, 0.5)));
        let up = Probe { up: true, base_cpu: Some(0.97), ..down };
        c.target = 6;
        // Up: a point gain above the margin is kept; below it only with room to grow;
        // neither while the lock is the bottleneck, nor when the base had the cores full.
        assert!(c.tie_break(&up, est(104.0), &m(0.97, 0.1)));
        assert!(!c.tie_break(&up, est(101.0), &m(0.97, 0.1)));
        let full = Probe { base_cpu: Some(1.0), ..up };
        assert!(!c.tie_break(&full, est(104.0), &m(1.0, 0.1)));
        assert!(c.tie_break(&up, est(101.0), &m(0.5, 0.0)));
        assert!(!c.tie_break(&up, est(104.0), &m(1.0, 0.5)));
        assert!(!c.tie_break(&up, est(101.0), &m(0.5, 0.5)));
    }

    #[test]
    fn a_step_down_is_not_judged_against_a_refused_step_up() {
        let est = |tps| Est { tps, se: 5.0 };
        let mut c = ours();
        // 15 read 97, 23 read 104 and was refused; 10 reads 98 with the lock waited on.
        c.table = vec![(15, est(97.0)), (23, est(104.0))];
        c.target = 23;
        c.refuse_target();
        c.target = 10;
        let down = Probe { base_lock: 0.5, base_cpu: Some(0.5), up: false, ..up_probe(15, est(97.0)) };
        let m = Meas { n: 10, tps: 98.0, se: 5.0, beta: Some(0.5), wait: 0.35, lock: 0.35, cpu_util: Some(0.5) };
        assert!(c.tie_break(&down, est(98.0), &m));
        // Kept steps stay the reference: 15 at 104 would make 98 a loss.
        c.table = vec![(15, est(104.0)), (23, est(104.0))];
        assert!(!c.tie_break(&down, est(98.0), &m));
        // A new regime forgets the refusals with the measurements.
        c.reset_regime();
        assert!(c.refused.is_empty());
    }

    #[test]
    fn a_settled_pool_probes_again_a_refused_step_its_fresh_reading_loses_to() {
        let est = |tps, se| Est { tps, se };
        // Vision, one core: 9 was refused against 6's first window (109); settled at 6,
        // whose windows since read 96.
        let settled = || {
            let mut c = ours();
            c.table = vec![(6, est(96.0, 1.0)), (9, est(111.0, 3.0))];
            c.refused = vec![9];
            c.target = 6;
            c.mode = Mode::Settled { windows: 3, started_at: None };
            c
        };
        let m = |lock| Meas { n: 6, tps: 96.0, se: 1.0, beta: Some(0.75), wait: 0.73, lock, cpu_util: Some(0.93) };
        let mut c = settled();
        assert_eq!(c.revisit(est(96.0, 1.0), &m(0.0), true), Some(9));
        // Within the noise of 9's estimate, with the lock waited on, or without a queue: no.
        assert_eq!(c.revisit(est(109.0, 1.0), &m(0.0), true), None);
        assert_eq!(c.revisit(est(96.0, 1.0), &m(0.3), true), None);
        assert_eq!(c.revisit(est(96.0, 1.0), &m(0.0), false), None);
        // Through a window: 9 is probed afresh (its old reading forgotten) from 6's estimate.
        assert_eq!(c.on_measurement(m(0.0), 1, true), Decision::Grow);
        assert_eq!(c.target, 9);
        assert!(c.table.iter().all(|e| e.0 != 9) && c.refused.is_empty());
        assert_eq!(c.probe.map(|p| (p.base, p.up)), Some((6, true)));
        // Once per regime: refused again, the pool stays settled at 6.
        c.refused = vec![9];
        c.table.push((9, est(111.0, 3.0)));
        c.target = 6;
        c.probe = None;
        assert_eq!(c.revisit(est(96.0, 1.0), &m(0.0), true), None);
        c.reset_regime();
        assert!(!c.revisited);
    }

    #[test]
    fn cpu_use_decides_ties_while_the_lock_is_free_or_under_a_core() {
        let mut c = ours();
        let est = |tps| Est { tps, se: 5.0 };
        c.table = vec![(9, est(100.0)), (14, est(100.0))];
        let m = |n, cpu_util, lock| Meas {
            n,
            tps: 0.0,
            se: 0.0,
            beta: Some(0.2),
            wait: 0.8,
            lock,
            cpu_util: Some(cpu_util),
        };
        // 9 -> 14 on one core, no gain in the task counts, CPU 0.90 -> 0.98 (busy cores).
        let up = Probe { base_cpu: Some(0.90), ..up_probe(9, est(100.0)) };
        c.target = 14;
        assert_eq!(c.verdict(&up, est(100.0)), None);
        assert!(c.tie_break(&up, est(100.0), &m(14, 0.98, 0.0)));
        // CPU up by less than the margin: the old rules.
        let busy = Probe { base_cpu: Some(0.95), ..up };
        assert!(!c.tie_break(&busy, est(100.0), &m(14, 0.96, 0.0)));
        // The lock waited on: CPU decides while the base used less than a core, not beyond.
        assert!(c.tie_break(&up, est(100.0), &m(14, 0.98, 0.5)));
        c.cores = 2;
        let over = Probe { base_cpu: Some(0.60), ..up };
        assert!(!c.tie_break(&over, est(100.0), &m(14, 0.65, 0.5)));
        assert!(c.tie_break(&up, est(100.0), &m(14, 0.98, 0.0)));
        c.cores = 1;
        // 14 -> 9: the same work by the task counts, but the core went idle: a loss.
        let down = Probe {
            base: 14,
            base_cpu: Some(0.98),
            up: false,
            ..up
        };
        c.target = 9;
        assert!(!c.tie_break(&down, est(100.0), &m(9, 0.90, 0.0)));
        assert!(c.tie_break(&down, est(100.0), &m(9, 0.97, 0.0)));
        assert!(!c.tie_break(&down, est(100.0), &m(9, 0.90, 0.5)));
        c.cores = 2;
        let high = Probe { base_cpu: Some(0.65), ..down };
        assert!(c.tie_break(&high, est(100.0), &m(9, 0.60, 0.5)));
        c.cores = 1;
        // Without a CPU measurement the task counts alone decide.
        let blind = Probe { base_cpu: None, ..down };
        assert!(c.tie_break(&blind, est(100.0), &m(9, 0.90, 0.0)));
    }

    #[test]
    fn a_tied_step_up_goes_below_its_base_only_from_the_lock() {
        let est = |tps| Est { tps, se: 5.0 };
        let up = Probe { base_cpu: Some(1.0), ..up_probe(4, est(100.0)) };
        let rejected = |pr: &Probe, fell| {
            let mut c = ours();
            c.target = 6;
            c.reject_up(pr, fell, None);
            c.target
        };
        // One core: run-queue wait high, the lock free: back to the base.
        assert_eq!(rejected(&up, false), 4);
        // The lock the bottleneck at the base, or a real fall: below it.
        assert_eq!(rejected(&Probe { base_lock: 0.3, ..up }, false), 3);
        assert_eq!(rejected(&up, true), 3);
    }

    /// Throughput that rises by `per_step` per step of 1.5x from 4 up to `top` threads, then
    /// falls by `fall` per thread; busy cores, some run-queue wait.
    fn rising(n: u32, per_step: f64, top: u32, fall: f64) -> Sample {
        let steps = (f64::from(n.min(top)) / 4.0).ln() / 1.5f64.ln();
        let over = f64::from(n.saturating_sub(top));
        let tps = 2000.0 * (1.0 + per_step * steps) * (1.0 - fall * over).max(0.1);
        let mut s = sample(n, 100, (tps * 0.25).round() as u64, Some(0.6), 0.0);
        s.runq_wait_frac = Some(0.3);
        s.cpu_util = 1.0;
        s.cores = 2;
        s
    }

    /// The targets a fresh controller asks for over 240 intervals of `make`.
    fn climb(make: fn(u32) -> Sample) -> Vec<u32> {
        drive(&mut ours(), 240, make).iter().map(|s| s.target).collect()
    }

    /// 1.5 % per step up to 30 threads (below the margin of each step, above it over two).
    fn slow_rise(n: u32) -> Sample {
        rising(n, 0.015, 30, 0.01)
    }

    #[test]
    fn a_tie_with_a_small_gain_goes_one_step_further() {
        let tried = climb(slow_rise);
        let last = *tried.last().unwrap();
        assert!(
            (13..=30).contains(&last),
            "should climb two ties at a time to 13..30 threads, ended at {last}: {tried:?}"
        );
    }

    /// 0.8 % per step up to 64 threads: every step and every two-step stretch ties (below
    /// the 2 % margin), three steps do not.
    fn creeping_rise(n: u32) -> Sample {
        rising(n, 0.008, 64, 0.0)
    }

    #[test]
    fn two_ties_with_small_gains_leap_once() {
        let tried = climb(creeping_rise);
        let last = *tried.last().unwrap();
        assert!(
            last >= 12,
            "a leap to three steps gains 2.4 %: should hold 12 or more threads, ended at {last}: {tried:?}"
        );
        // Once per regime: afterwards the ties at the top are not leapt over again.
        assert!(tried.iter().all(|&n| n <= 200), "{tried:?}");
    }

    #[test]
    fn high_waits_veto_growth_only_while_the_cores_are_full() {
        // Threads queue for the CPU 80 % of the time and throughput still rises with N.
        let run = |cpu_util: f64| {
            let mut c = ours();
            let steps = drive(&mut c, 200, |n| {
                let tps = 100.0 * f64::from(n.min(40));
                let mut s = sample(n, 100, (tps * 0.25) as u64, Some(0.9), 0.0);
                s.runq_wait_frac = Some(0.8);
                s.cpu_util = cpu_util;
                s
            });
            steps.iter().map(|s| s.target).max().unwrap()
        };
        let (idle, nearly_full, full) = (run(0.9), run(0.96), run(0.995));
        assert!(idle >= 20, "with idle cores the pool should grow, got to {idle}");
        // Vision on one core: 96 % used at 80 % run-queue wait, and more threads still gained.
        assert!(nearly_full >= 20, "below cpu_full the pool should grow, got to {nearly_full}");
        assert!(full <= 8, "with full cores growth is vetoed, got to {full}");
    }

    /// Throughput 100 x N up to 40 threads with the lock free, CPU 90 % used; the first
    /// `spell` intervals after the pool first passes 8 threads read 40 % low (a slow spell of
    /// the machine), and from `knee` on throughput is halved. The targets over 60 intervals,
    /// with the recheck of falls or (`recheck` false) as if it had been used up.
    fn spell_run(spell: u32, knee: u32, recheck: bool) -> Vec<u32> {
        let mut c = ours();
        c.rechecked = !recheck;
        let mut since: Option<u32> = None;
        let steps = drive_from(&mut c, 8, 60, |n| {
            if n > 8 && since.is_none() {
                since = Some(0);
            }
            let slow = since.is_some_and(|k| k < spell);
            since = since.map(|k| k + 1);
            let tps = 100.0 * f64::from(n.min(40)) * if n >= knee { 0.5 } else { 1.0 } * if slow { 0.6 } else { 1.0 };
            let mut s = sample(n, 100, (tps * 0.25).round() as u64, Some(0.9), 0.0);
            s.runq_wait_frac = Some(0.3);
            s.cpu_util = 0.9;
            s
        });
        steps.iter().map(|s| s.target).collect()
    }

    #[test]
    fn a_fall_with_the_lock_free_is_measured_again() {
        // The spell covers the first step's transient and first window only.
        let spelled = spell_run(5, u32::MAX, true);
        let top = *spelled.iter().max().unwrap();
        assert!(top >= 27, "a step up read low in a slow spell should be measured again and kept: {spelled:?}");
        let unchecked = spell_run(5, u32::MAX, false);
        assert!(*unchecked.iter().max().unwrap() < 27, "without the recheck the spell should stop the climb: {unchecked:?}");
        // A real fall beyond 8 threads is still rejected, after one more window at 12.
        let real = spell_run(0, 9, true);
        assert!(*real.last().unwrap() <= 8, "a real fall was kept: {real:?}");
        let at_12 = |v: &[u32]| v.iter().filter(|&&n| n == 12).count();
        let once = spell_run(0, 9, false);
        assert!(at_12(&real) > at_12(&once), "the recheck should cost one more window at 12: {real:?} vs {once:?}");
    }

    #[test]
    fn a_promising_step_up_gets_a_longer_look() {
        let c = ours();
        let est = |tps| Est { tps, se: 3.0 };
        let up = Probe { base_lock: 0.3, ..up_probe(4, est(100.0)) };
        assert_eq!(c.probe_limit_s(&up, est(105.0)), c.p.leap_probe_s);
        assert_eq!(c.probe_limit_s(&up, est(103.0)), c.p.max_probe_s);
        let down = Probe { up: false, ..up };
        assert_eq!(c.probe_limit_s(&down, est(105.0)), c.p.max_probe_s);
    }

    #[test]
    fn a_noisy_gain_under_the_lock_is_not_given_up() {
        // 6 % more from 4 to 5 threads, flat above; interval counts swing +-10 %; the lock
        // waits 30 %, so a plain tie going up is not kept: the step 4 -> 6 is kept on a gain
        // beyond the noise after the longer look, or halved to 5 (`knee`). Either way the
        // pool does not end at 4.
        let mut i = 0u32;
        let mut c = ours();
        let steps = drive_from(&mut c, 4, 400, |n| {
            i += 1;
            let tps: f64 = if n >= 5 { 2120.0 } else { 2000.0 };
            let swing = if i % 2 == 0 { 1.1 } else { 0.9 };
            let mut s = sample(n, 100, (tps * 0.25 * swing as f64).round() as u64, Some(0.6), 0.3);
            s.cpu_util = 1.0;
            s
        });
        let held: Vec<u32> = steps.iter().map(|s| s.target).collect();
        let last = *held.last().unwrap();
        assert!(last >= 5, "ended at {last}: {held:?}");
    }

    #[test]
    fn a_step_up_into_the_lock_is_halved() {
        // Throughput proportional to N up to a knee at 21 threads (the cores idle below it),
        // flat above it, where the lock wait climbs; interval counts swing +-10 %. The step
        // 20 -> 30 reads +5 %, within the noise, with the lock saturated: without halving,
        // the pool goes back to 20.
        let mut i = 0u32;
        let mut c = ours();
        let steps = drive_from(&mut c, 20, 400, |n| {
            i += 1;
            let tps = 100.0 * f64::from(n.min(21));
            let lock = 0.05 + 0.02 * f64::from(n.saturating_sub(21));
            let swing = if i % 2 == 0 { 1.1 } else { 0.9 };
            let mut s = sample(n, 100, (tps * 0.25 * swing).round() as u64, Some(0.6), lock);
            s.cpu_util = (f64::from(n) / 21.0).min(1.0);
            s
        });
        let held: Vec<u32> = steps.iter().map(|s| s.target).collect();
        let last = *held.last().unwrap();
        assert!((22..30).contains(&last), "ended at {last}: {held:?}");
    }

    #[test]
    fn growth_stops_short_of_the_memory_limit() {
        // I/O-bound, throughput proportional to N, idle CPU: only memory stops the growth.
        // Memory in use: 5 % of the limit plus 2 % per thread (the limit at 47 threads).
        let mem = |n: u32| 0.05 + 0.02 * f64::from(n);
        let mut c = ours();
        let steps = drive(&mut c, 400, |n| {
            let mut s = sample(n, 100, u64::from(n) * 25, Some(0.95), 0.0);
            s.cpu_util = 0.1;
            s.memory_frac = Some(mem(n));
            s
        });
        let most = steps.iter().map(|s| s.target).max().unwrap();
        assert!(
            (20..=42).contains(&most) && mem(most) <= 0.9,
            "grew to {most} threads, {:.0} % of the limit",
            100.0 * mem(most)
        );
        assert!(steps.last().unwrap().vetoes > 0);
    }

    #[test]
    fn below_an_n_measured_worse_the_gap_is_halved() {
        let mut c = ours();
        let est = |tps| Est { tps, se: 1.0 };
        // Nothing measured below 11: a 1.5x step.
        c.table = vec![(11, est(100.0))];
        assert_eq!(c.next_down(11, est(100.0)), Some(7));
        // 7 lost to 11 beyond the noise: look at 9 (sqrt(7 x 11) = 8.8), then at 8.
        c.table = vec![(7, est(88.0)), (11, est(100.0))];
        assert_eq!(c.next_down(11, est(100.0)), Some(9));
        c.table.push((9, est(99.0)));
        assert_eq!(c.next_down(9, est(99.0)), Some(8));
        // Between 7 and 8 there is no thread count left.
        assert_eq!(c.next_down(8, est(99.0)), None);
        // 7 within the noise of 11 is no loss: the plain step again.
        c.table = vec![(7, est(99.5)), (11, est(100.0))];
        assert_eq!(c.next_down(11, est(100.0)), Some(7));
        // Never below n_min.
        assert_eq!(c.next_down(1, est(100.0)), None);
    }

    #[test]
    fn shrinks_on_an_empty_queue_never_below_min() {
        let mut c = OursController::new(OursParams {
            n_min: 2,
            ..Default::default()
        });
        let mut n = c.initial_threads(4);
        assert_eq!(n, 8);
        let mut targets = Vec::new();
        for _ in 0..30 {
            let mut s = sample(n, 0, 10, Some(0.5), 0.0);
            s.cpu_util = 0.01;
            s.cores = 4;
            let st = c.decide(&s);
            n = st.target;
            targets.push(n);
        }
        assert_eq!(
            &targets[..3],
            &[8, 8, 4],
            "shrinks after 3 empty intervals, at most by half"
        );
        assert_eq!(*targets.last().unwrap(), 2);
        // Fully busy pool with an empty queue: no shrink.
        let mut c = ours();
        let mut s = sample(8, 0, 10, Some(0.5), 0.0);
        s.cpu_util = 1.0;
        s.cores = 4; // busy = 4 / 0.5 = 8 tasks in flight
        for _ in 0..10 {
            assert_eq!(c.decide(&s).target, 8);
        }
    }

    #[test]
    fn follows_a_pool_that_cannot_reach_the_target() {
        let mut c = ours();
        let steps = drive(&mut c, 6, |n| sample(n, 100, 50, Some(0.99), 0.0));
        assert_eq!(steps.last().unwrap().target, 64, "{steps:?}");
        // The pool stays at 8: hold without judging, then adopt the pool's size.
        for _ in 0..9 {
            c.decide(&sample(8, 100, 50, Some(0.99), 0.0));
        }
        assert_eq!(c.target, 8);
    }
}
/// `CASE=<sim case> cargo test print_case_trace -- --nocapture` prints one run, interval
/// by interval (prints nothing without CASE).
#[cfg(test)]
mod debug_trace {
    use super::super::sim::{self, Model};
    use super::*;
    #[test]
    fn print_case_trace() {
        let name = std::env::var("CASE").unwrap_or_default();
        for w in sim::cases().into_iter().filter(|w| w.name == name) {
            let model = Model::new(w);
            let mut c = OursController::new(OursParams::default());
            let out = sim::run(&model, &mut c, 60.0);
            for e in &out.trace {
                let p = model.at(e.1);
                println!(
                    "{:6.2} n={:4} tps={:8.1} eff={:.3} beta={:.3} lock={:.3} runq={:.3}",
                    e.0,
                    e.1,
                    e.2,
                    e.2 / out.tps_opt,
                    p.beta,
                    p.lock,
                    p.runq
                );
            }
        }
    }

    /// `REPLAY=<timelines/....csv> CORES=<the point's cores> cargo test --release --lib replay --
    /// --ignored --nocapture` feeds a recorded `adaptive` timeline back to the controller and
    /// prints each decision with the state behind it (mode, pending probe, the table of
    /// estimates); MISMATCH marks where it no longer decides as recorded (another version).
    #[test]
    #[ignore]
    fn replay() {
        let path = std::env::var("REPLAY").unwrap();
        let cores: u32 = std::env::var("CORES").map_or(1, |c| c.parse().unwrap());
        let mut rd = csv::Reader::from_path(path).unwrap();
        let mut c = OursController::new(OursParams::default());
        let mut prev_t = 0.0;
        for row in rd.deserialize::<crate::measure::TimelineRow>() {
            let r = row.unwrap();
            let dt = r.t_s - prev_t;
            prev_t = r.t_s;
            let s = crate::controller::Sample {
                t_s: r.t_s,
                interval_s: dt,
                threads: r.threads,
                queue_len: r.queue_len,
                completed: (r.tps * dt).round() as u64,
                beta: r.beta,
                lock_wait_frac: r.lock_wait_frac,
                runq_wait_frac: r.runq_wait_frac,
                cpu_util: r.cpu_util,
                cores,
                memory_frac: r.memory_frac,
            };
            let st = c.decide(&s);
            let same = if st.target == r.target { "" } else { " MISMATCH" };
            eprintln!("{:.2} N={} tps={:.0} lk={:.2} cpu={:.2} -> {:?} {}{same} | mode={:?} probe={:?} model={:?} p_sat={:?} table={:?}",
                r.t_s, r.threads, r.tps, r.lock_wait_frac.unwrap_or(0.0), r.cpu_util, st.decision, st.target, c.mode,
                c.probe.map(|p| (p.base, p.up, p.seek, p.bisect, (p.base_tps.tps as i64))), c.settled_model, c.p_sat,
                c.table.iter().map(|e| (e.0, e.1.tps as i64, e.1.se as i64)).collect::<Vec<_>>());
        }
    }
}

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
//!    Veto (counted) and the pool steps back to the best N. A step up (or up-jump) that
//!    gained beyond the noise from full cores with the lock free, or from a held lock (waited
//!    on with a core's worth of CPU in use), is kept only after the base is measured again
//!    and the gain holds against the mean of the base's windows before and after it: there
//!    more threads can add little work, and a window's own noise misses the machine's drift
//!    between windows (`must_confirm`). A step up that fell with the lock
//!    free is measured again on a fresh window before the fall is believed (once per regime:
//!    the machine has slow spells); one that raised the cores' use by more than `margin`
//!    from below `cpu_busy` is judged as a tie instead (its tasks cost more CPU each: the
//!    machine slowed, see `slowed`). After a failed upward probe, if
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
//!    (geometrically) back, kept on its point gain over the same base, and stops there (not
//!    from a base where the lock was already held, `lock_held`, unless CPU use rose: the
//!    knee lies at or below such a base).
//!    In a tie with the lock free, CPU use decides as well: a step up that raised the cores'
//!    use by more than `margin` is kept (its point gain alone is not enough once the base had
//!    the cores full, `cpu_full`), as is one that left them below `cpu_busy` without
//!    lowering their use (use that fell is the host's), a step down that idled them by more
//!    is not (without lock contention a task costs about the same CPU at any N, and CPU
//!    time is measured with far less noise than the tasks a window completes); with the
//!    lock contended, so does CPU use below `cpu_busy` of one core at the lower N of the two
//!    (the lock runs one thread at a time: under a core, the core idles while all threads
//!    are in I/O). A step down after which the lock is still waited on and CPU use stayed
//!    within the margin is kept on a tie whatever the task counts say: under the lock a task
//!    costs at least as much CPU with more threads (`busy_with_fewer`). Then settle.
//! 4. Settled: hold. With the lock free, where the settled N's estimate comes to lose
//!    beyond the noise to that of a step up refused from it, one step up and with the lock
//!    free there too, probe that step again from here, once per regime (the refusal was
//!    judged against a base window that read high).
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
//!
//! Layout: this file holds the state and `decide` (windows, regimes, re-probes);
//! `judge.rs` how a probe's window is judged (noise, ties, vetoes), `moves.rs` where the pool
//! goes next, `window.rs` a window's sums, `params.rs` the parameters.

use super::{bounds, frac, Controller, ControllerSpec, Decision, Sample, Step};

mod judge;
mod moves;
mod params;
#[cfg(test)]
mod tests;
mod window;

pub use params::OursParams;
use window::{Est, Meas, Window};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Seek,
    Climb,
    Settled {
        windows: u32,
        started_at: Option<u32>,
    },
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
    /// A gain from full cores under check (see `must_confirm`): the step's N and estimate,
    /// while the pool measures the base again.
    confirm: Option<(u32, Est)>,
}

#[derive(Debug, Clone)]
pub struct OursController {
    p: OursParams,
    target: u32,
    mode: Mode,
    probe: Option<Probe>,
    /// Per N measured in the current regime: smoothed throughput, and the lock wait of its
    /// latest window (see `revisit`).
    table: Vec<(u32, Est, f64)>,
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
            Some(pr) => pr.seek && pr.up && pr.confirm.is_none(),
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
            Some(e) => (e.1, e.2) = (est, m.lock),
            None => self.table.push((m.n, est, m.lock)),
        }
        est
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

    /// A window closed at the current target: judge the pending probe or plan the next move.
    fn on_measurement(&mut self, m: Meas, cores: u32, queue: bool) -> Decision {
        let tps = self.record(&m);
        if tps.tps > 0.0 {
            self.task_wall_s = Some(f64::from(m.n) / tps.tps);
        }
        let model = self.model(&m, cores);
        if let Some(pr) = self.probe.take() {
            return self.after_probe(pr, &m, tps, model, queue);
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
            if room && pr.confirm.is_none() && self.verdict(&pr, now).is_none() {
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

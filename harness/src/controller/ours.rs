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

use super::{bounds, frac, Controller, ControllerSpec, Decision, Sample, Step};

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

    /// A step up read a fall while, with the lock free at the base and at the step, it put
    /// idle CPU to work (CPU use below `cpu_busy` at the base, up by more than the margin
    /// at the step; from busy cores the last few per cent are oversubscription's own
    /// switching as much as work: sensor-telemetry two cores free-threaded, 185 -> 417
    /// threads, CPU 0.97 -> 1.00 and -12 %, where fixed 256 is the best). Without the lock a
    /// task costs about the same CPU at any N, so the step's tasks cost more CPU each: the
    /// machine slowed during its window, and CPU use, not the task count, says what the step
    /// did. Of 1083 doublings of N with the lock free in the fixed sweeps of the campaigns
    /// to 2026-11-27, 8 raised CPU use by more than 2 % and lost more than 3 %; the 6 measured
    /// with the CPU speed meter each coincided with a drop of the meter at least as large
    /// (vision one core: 8 -> 16 threads, CPU 0.94 -> 1.00, -5 % at speed 0.86 -> 0.75).
    /// agent-orchestration on one core, free-threaded: 8 -> 12 threads raised CPU use
    /// 0.93 -> 1.00 and read -31 % in a spell that outlasted the recheck (8 threads read 60
    /// against 85 before it); the pool stayed at 8, 84 % of the best fixed pool.
    fn slowed(&self, pr: &Probe, m: &Meas) -> bool {
        pr.up
            && self.lock_free(m)
            && pr.base_lock < self.p.contention_low
            && pr.base_cpu.is_some_and(|u| u < self.p.cpu_busy)
            && self.cpu_change(pr, m) > self.p.margin
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
            let verdict = match self.verdict(&pr, tps) {
                Some(false) if self.slowed(&pr, &m) => None,
                v => v,
            };
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
            // Not from full cores: there a small point gain is noise, as in the tie rule, and
            // each step further only queues more threads for the cores (micro, one core
            // free-threaded: 7 -> 11 -> 17 -> 26 threads on ties, CPU 1.00 throughout, back
            // to 7 after 10 s; a steady P99 2.3x that of the best fixed pool).
            let may_go_on = verdict.is_none()
                && pr.up
                && !pr.seek
                && !pr.bisect
                && small_gain
                && !self.cores_full(pr.base_cpu)
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

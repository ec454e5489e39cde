//! The parameters of `adaptive` (`OursParams`), their defaults and their checks.

use serde::{Deserialize, Serialize};

use super::super::{check, InvalidParams};

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

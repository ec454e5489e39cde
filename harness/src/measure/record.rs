//! The record a point process sends back to the runner (one JSON object on stdout).

use serde::{Deserialize, Serialize};
use workloads::Calibrated;

use super::{batch_se, quantile_after_ms, quantile_ms, settling, Settling, TaskStats, TimelineRow, Usage};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub tasks: u64,
    pub tasks_unfinished: u64,
    pub elapsed_s: f64,
    pub tps: f64,
    pub lat_p50_ms: Option<f64>,
    pub lat_p95_ms: Option<f64>,
    pub lat_p99_ms: Option<f64>,
    pub lat_max_ms: Option<f64>,
    pub resp_p99_ms: Option<f64>,
    pub beta_mean: Option<f64>,
    pub lock_wait_frac: Option<f64>,
    pub runq_wait_frac: Option<f64>,
    /// Process CPU time over elapsed time, in cores (1.0 = one core busy).
    pub cpu_cores_used: f64,
    pub peak_rss_mb: Option<f64>,
    /// Process pools: proportional set size summed over the tree (shared pages split).
    #[serde(default)]
    pub pss_mb: Option<f64>,
    pub ctx_voluntary: u64,
    pub ctx_involuntary: u64,
    pub spawn_ms: f64,
    pub calibration: Vec<Calibrated>,
    /// Elastic pools: the controller's intervals and their summary.
    #[serde(default)]
    pub settling: Option<Settling>,
    #[serde(default)]
    pub timeline: Vec<TimelineRow>,
    /// Elastic pools: P99 of the tasks that ended in the steady window (from
    /// `settling.steady_from_s`), the window `steady_tps` counts.
    #[serde(default)]
    pub lat_p99_steady_ms: Option<f64>,
    /// Batch-means standard error of the throughput compared: `steady_tps` for elastic pools
    /// (over the steady window), else `tps` (see `batch_se`).
    #[serde(default)]
    pub tps_se: Option<f64>,
    /// Real CPython runtimes: the interpreter that ran the point, e.g. "CPython 3.12.1".
    #[serde(default)]
    pub interpreter: Option<String>,
    /// The CPU's speed just before the point, against the run's calibration (see speed.rs).
    #[serde(default)]
    pub cpu_speed: Option<f64>,
}

/// `tps_se` from the completions per bucket: over the steady window once a pool settled.
pub fn tps_se(per_bucket: &[u32], settling: Option<Settling>, elapsed_s: f64) -> Option<f64> {
    batch_se(per_bucket, settling.map_or(0.0, |st| st.steady_from_s), elapsed_s)
}

impl Measurement {
    pub fn new(
        stats: &TaskStats,
        unfinished: u64,
        elapsed: std::time::Duration,
        usage: &Usage,
        spawn: std::time::Duration,
        calibration: Vec<Calibrated>,
        timeline: Vec<TimelineRow>,
    ) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let q = |p| quantile_ms(&stats.service_us, p);
        let settling = settling(&timeline);
        let ended = stats.ended.iter().map(|&(end, us)| (end, u64::from(us)));
        Measurement {
            tasks: stats.tasks,
            tasks_unfinished: unfinished,
            elapsed_s: elapsed.as_secs_f64(),
            tps: stats.tasks as f64 / secs,
            lat_p50_ms: q(0.50),
            lat_p95_ms: q(0.95),
            lat_p99_ms: q(0.99),
            lat_max_ms: q(1.0),
            resp_p99_ms: quantile_ms(&stats.response_us, 0.99),
            beta_mean: stats.beta_mean(),
            lock_wait_frac: stats.lock_wait_frac(),
            runq_wait_frac: stats.runq_wait_frac(),
            cpu_cores_used: usage.cpu.as_secs_f64() / secs,
            peak_rss_mb: super::peak_rss_mb(),
            pss_mb: None,
            ctx_voluntary: usage.voluntary_switches,
            ctx_involuntary: usage.involuntary_switches,
            spawn_ms: spawn.as_secs_f64() * 1000.0,
            calibration,
            lat_p99_steady_ms: settling.and_then(|st| quantile_after_ms(ended, st.steady_from_s, 0.99)),
            tps_se: tps_se(&stats.per_bucket, settling, elapsed.as_secs_f64()),
            settling,
            timeline,
            interpreter: None,
            cpu_speed: None,
        }
    }
}

//! One tidy CSV row per point and repetition. Column names are stable and documented in
//! the README; numbers carry their unit in the name.

use serde::{Deserialize, Serialize};

use crate::limits::Enforcement;
use crate::measure::Measurement;
use crate::scenario::{Point, PointKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Timeout,
    Oom,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Timeout => "timeout",
            Status::Oom => "oom",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub scenario: String,
    pub device: String,
    pub runtime: String,
    pub workload: String,
    pub strategy: String,
    pub threads: u32,
    pub rep: u32,
    pub status: Status,
    pub enforcement: Enforcement,
    /// Cores the point really got (the device's count, clamped to the host's).
    pub cpus: u32,
    pub memory_cap_mb: Option<u64>,
    pub cpu_quota: Option<f64>,
    pub tasks: Option<u64>,
    pub tasks_unfinished: Option<u64>,
    pub elapsed_s: Option<f64>,
    pub tps: Option<f64>,
    pub lat_p50_ms: Option<f64>,
    pub lat_p95_ms: Option<f64>,
    pub lat_p99_ms: Option<f64>,
    pub lat_max_ms: Option<f64>,
    pub resp_p99_ms: Option<f64>,
    pub beta_mean: Option<f64>,
    pub lock_wait_frac: Option<f64>,
    pub runq_wait_frac: Option<f64>,
    pub cpu_cores_used: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub pss_mb: Option<f64>,
    pub cgroup_mem_peak_mb: Option<f64>,
    pub ctx_voluntary: Option<u64>,
    pub ctx_involuntary: Option<u64>,
    pub spawn_ms: Option<f64>,
    /// Elastic pools: pool size at the end, time-weighted mean, vetoes, settling time and the
    /// throughput after settling (see measure/timeline.rs).
    pub final_threads: Option<u32>,
    pub mean_threads: Option<f64>,
    pub vetoes: Option<u32>,
    pub settle_s: Option<f64>,
    pub steady_tps: Option<f64>,
    /// P99 latency over the same steady window as steady_tps (ms).
    #[serde(default)]
    pub lat_p99_steady_ms: Option<f64>,
    /// Batch-means standard error of steady_tps (elastic pools) or tps (the others).
    #[serde(default)]
    pub tps_se: Option<f64>,
    /// Real CPython runtimes: the interpreter that ran the point, e.g. "CPython 3.12.1".
    #[serde(default)]
    pub interpreter: Option<String>,
    /// The CPU's work per CPU second just before the point, against the run's calibration.
    #[serde(default)]
    pub cpu_speed: Option<f64>,
    /// The whole point: process start, calibration, threads, run.
    pub point_wall_s: f64,
    pub message: String,
}

/// How a point ended, as the runner saw it.
#[derive(Debug, Clone)]
pub struct Ending {
    pub status: Status,
    pub measurement: Option<Measurement>,
    pub enforcement: Enforcement,
    pub cpus: u32,
    pub memory_enforced: bool,
    pub cgroup_mem_peak_mb: Option<f64>,
    pub point_wall_s: f64,
    pub message: String,
}

impl Ending {
    /// A point that could not be measured, for `message`'s reason: an error row.
    pub fn not_run(enforcement: Enforcement, message: String) -> Ending {
        Ending {
            status: Status::Error,
            measurement: None,
            enforcement,
            cpus: 0,
            memory_enforced: false,
            cgroup_mem_peak_mb: None,
            point_wall_s: 0.0,
            message,
        }
    }
}

impl Row {
    pub fn new(point: &Point, end: Ending) -> Row {
        let m = end.measurement.as_ref();
        let st = m.and_then(|m| m.settling);
        Row {
            scenario: point.scenario.clone(),
            device: point.device.name.clone(),
            runtime: point.runtime_name.clone(),
            workload: point.workload.name.clone(),
            strategy: point.strategy.label(),
            threads: point.threads,
            rep: point.rep,
            status: end.status,
            enforcement: end.enforcement,
            cpus: end.cpus,
            memory_cap_mb: point.device.memory_mb.filter(|_| end.memory_enforced),
            cpu_quota: point.device.cpu_quota,
            tasks: m.map(|m| m.tasks),
            tasks_unfinished: m.map(|m| m.tasks_unfinished),
            elapsed_s: m.map(|m| m.elapsed_s),
            tps: m.map(|m| m.tps),
            lat_p50_ms: m.and_then(|m| m.lat_p50_ms),
            lat_p95_ms: m.and_then(|m| m.lat_p95_ms),
            lat_p99_ms: m.and_then(|m| m.lat_p99_ms),
            lat_max_ms: m.and_then(|m| m.lat_max_ms),
            resp_p99_ms: m.and_then(|m| m.resp_p99_ms),
            beta_mean: m.and_then(|m| m.beta_mean),
            lock_wait_frac: m.and_then(|m| m.lock_wait_frac),
            runq_wait_frac: m.and_then(|m| m.runq_wait_frac),
            cpu_cores_used: m.map(|m| m.cpu_cores_used),
            peak_rss_mb: m.and_then(|m| m.peak_rss_mb),
            pss_mb: m.and_then(|m| m.pss_mb),
            cgroup_mem_peak_mb: end.cgroup_mem_peak_mb,
            ctx_voluntary: m.map(|m| m.ctx_voluntary),
            ctx_involuntary: m.map(|m| m.ctx_involuntary),
            spawn_ms: m.map(|m| m.spawn_ms),
            final_threads: st.map(|s| s.final_threads),
            mean_threads: st.map(|s| s.mean_threads),
            vetoes: st.map(|s| s.vetoes),
            settle_s: st.map(|s| s.settle_s),
            steady_tps: st.map(|s| s.steady_tps),
            lat_p99_steady_ms: m.and_then(|m| m.lat_p99_steady_ms),
            tps_se: m.and_then(|m| m.tps_se),
            interpreter: m.and_then(|m| m.interpreter.clone()),
            cpu_speed: m.and_then(|m| m.cpu_speed),
            point_wall_s: end.point_wall_s,
            // One physical line per row keeps resume's partial-line repair simple.
            message: end.message.replace(['\n', '\r'], "; "),
        }
    }

    pub fn key(&self) -> PointKey {
        PointKey {
            device: self.device.clone(),
            runtime: self.runtime.clone(),
            workload: self.workload.clone(),
            strategy: self.strategy.clone(),
            threads: self.threads,
            rep: self.rep,
        }
    }
}

//! Scenario -> Plan (the cross product, in run order) and a rough estimate of its duration.
use std::time::Duration;

use workloads::Phase;

use super::model::{Arrival, Plan, Point, PointKey, RuntimeSpec, Scenario, TaskBudget};

/// Fixed cost of one point besides its tasks: process start, calibration, thread spawn.
const POINT_OVERHEAD: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct Estimate {
    pub points: usize,
    /// Total, with [`POINT_OVERHEAD`] per point.
    pub duration: Duration,
    /// How many points are expected to hit the scenario's time limit.
    pub capped: usize,
}

impl Scenario {
    /// Expands the sweep: device (outer), runtime, workload, strategy, threads, repetition
    /// (inner). Names the sweep does not resolve are skipped (`load` rejects them).
    pub fn plan(&self) -> Plan {
        let mut points = Vec::new();
        let sw = &self.sweep;
        for device in sw.devices.iter().filter_map(|d| self.devices.get(d)) {
            for (runtime_name, runtime) in
                sw.runtimes.iter().filter_map(|r| self.runtimes.get(r).map(|s| (r, s)))
            {
                for workload in sw.workloads.iter().filter_map(|w| self.workloads.get(w)) {
                    for strategy in &sw.strategies {
                        for &threads in &sw.threads {
                            for rep in 0..self.repetitions {
                                let mut point = Point {
                                    scenario: self.name.clone(),
                                    device: device.clone(),
                                    runtime_name: runtime_name.clone(),
                                    runtime: runtime.clone(),
                                    workload: workload.clone(),
                                    strategy: strategy.clone(),
                                    threads,
                                    rep,
                                    tasks: workload.tasks.unwrap_or(self.tasks),
                                    arrival: workload.arrival.unwrap_or(self.arrival),
                                    seed: 0,
                                    time_limit: self.time_limit,
                                };
                                point.seed = point_seed(self.seed, &point.key());
                                points.push(point);
                            }
                        }
                    }
                }
            }
        }
        Plan { points }
    }
}

/// FNV-1a over the scenario seed and the point key, finished with the SplitMix64 mixer.
fn point_seed(seed: u64, key: &PointKey) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().into_iter().chain(key.to_string().into_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A rough, honest wall-clock estimate of running `plan` one point after another.
pub fn estimate(plan: &Plan) -> Estimate {
    let mut duration = Duration::ZERO;
    let mut capped = 0;
    for p in &plan.points {
        let (run, hit_limit) = point_run_time(p);
        capped += usize::from(hit_limit);
        duration = duration.saturating_add(POINT_OVERHEAD).saturating_add(run);
    }
    Estimate { points: plan.points.len(), duration, capped }
}

/// The task time of one point and whether the time limit cuts it.
fn point_run_time(p: &Point) -> (Duration, bool) {
    let secs = match p.tasks {
        TaskBudget::Duration(d) => d.as_secs_f64(),
        TaskBudget::Count(n) => {
            let phases = &p.workload.phases;
            // Seconds per task: all phases, the lock-holding ones, all on-core ones.
            let task: f64 = phases.iter().map(Phase::nominal_ms).sum::<f64>() / 1e3;
            let held: f64 =
                phases.iter().filter(|ph| matches!(ph, Phase::Cpu(_))).map(Phase::nominal_ms).sum::<f64>() / 1e3;
            let on_core: f64 = phases
                .iter()
                .filter(|ph| matches!(ph, Phase::Cpu(_) | Phase::Native(_)))
                .map(Phase::nominal_ms)
                .sum::<f64>()
                / 1e3;
            let cores = p.device.cpu_quota.map_or(f64::from(p.device.cpus), |q| q.min(f64::from(p.device.cpus)));
            // Tasks per second, bounded by the threads, the cores, the lock and the arrivals.
            let mut rate = f64::INFINITY;
            if task > 0.0 {
                rate = rate.min(f64::from(p.threads) / task);
            }
            if on_core > 0.0 && cores > 0.0 {
                rate = rate.min(cores / on_core);
            }
            if matches!(p.runtime, RuntimeSpec::Gil { .. }) && held > 0.0 {
                rate = rate.min(1.0 / held);
            }
            if let Arrival::Poisson { rate_tps } = p.arrival {
                if rate_tps > 0.0 {
                    rate = rate.min(rate_tps);
                }
            }
            n as f64 / rate
        }
    };
    let limit = p.time_limit.as_secs_f64();
    if secs.is_nan() || secs >= limit {
        (p.time_limit, secs > limit)
    } else {
        (Duration::try_from_secs_f64(secs).unwrap_or(p.time_limit), false)
    }
}

//! Repetitions folded into one estimate per point (device, runtime, workload, strategy, N),
//! the best fixed pool per group, each strategy's efficiency against it, and the cliff
//! reading. Pure functions of rows; the figures and tables draw from these.

use std::collections::BTreeMap;

use super::stats::Summary;
use crate::measure::BATCHES;
use crate::results::{Row, Status};

/// The fixed pool, the reference of efficiency (`ThreadPoolExecutor(N)`).
pub const FIXED: &str = "fixed";
/// The pure-I/O control workload drawn on every cliff chart.
pub const CONTROL: &str = "pure-io";
/// Confidence level of every interval in a report.
pub const LEVEL: f64 = 0.95;
/// The paper's definition of a saturation cliff: a loss of at least 20 % from the peak.
pub const CLIFF_LOSS: f64 = 0.20;

/// The fixed pools that ended ok, by (device, runtime, workload, repetition): one sweep each.
pub fn fixed_sweeps(rows: &[Row]) -> BTreeMap<(&str, &str, &str, u32), Vec<&Row>> {
    let mut out: BTreeMap<_, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.strategy == FIXED && r.status == Status::Ok) {
        out.entry((r.device.as_str(), r.runtime.as_str(), r.workload.as_str(), r.rep)).or_default().push(r);
    }
    out
}

/// What identifies a point once repetitions are pooled.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group {
    pub device: String,
    pub runtime: String,
    pub workload: String,
    pub strategy: String,
    /// 0 for elastic pools, which choose their own size.
    pub threads: u32,
}

impl Group {
    fn of(r: &Row) -> Group {
        Group {
            device: r.device.clone(),
            runtime: r.runtime.clone(),
            workload: r.workload.clone(),
            strategy: r.strategy.clone(),
            threads: r.threads,
        }
    }

    /// The curve this point belongs to (everything but N).
    pub fn curve(&self) -> (&str, &str, &str, &str) {
        (&self.device, &self.runtime, &self.workload, &self.strategy)
    }
}

/// One point over its repetitions. Only `ok` repetitions enter the estimates.
#[derive(Debug, Clone)]
pub struct Agg {
    pub group: Group,
    /// Cores of the device (the `cpus` column of the point's rows).
    pub cpus: u32,
    pub tps: Option<Summary>,
    /// steady_tps where the row has it (elastic pools after settling), else tps.
    pub steady: Option<Summary>,
    /// With one ok repetition: the same value with the spread of the run's own batches
    /// (n = BATCHES, from tps_se), for an interval where repetitions give none.
    pub steady_batches: Option<Summary>,
    /// "Pooled" P99: points.csv holds one P99 per repetition, not the latencies, so the
    /// pooled value is the largest per-repetition P99 (an upper bound of the true pooled P99).
    pub p99_max_ms: Option<f64>,
    /// The same over the steady window (lat_p99_steady_ms where the row has it, else P99).
    pub p99_steady_max_ms: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// PSS summed over a process pool's tree (empty for thread strategies).
    pub pss_mb: Option<f64>,
    pub beta: Option<f64>,
    pub lock_wait: Option<f64>,
    pub runq_wait: Option<f64>,
    pub final_threads: Option<f64>,
    pub mean_threads: Option<f64>,
    pub vetoes: Option<f64>,
    pub ok: usize,
    /// Statuses of repetitions that did not end ok (e.g. "oom").
    pub failed: Vec<&'static str>,
}

impl Agg {
    pub fn tps_mean(&self) -> Option<f64> {
        self.tps.map(|s| s.mean)
    }
}

/// Aggregates, sorted by group (so by N within a curve).
pub fn aggregate(rows: &[Row]) -> Vec<Agg> {
    let mut by: BTreeMap<Group, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by.entry(Group::of(r)).or_default().push(r);
    }
    by.into_iter()
        .map(|(group, reps)| {
            let ok: Vec<&Row> = reps.iter().copied().filter(|r| r.status == Status::Ok).collect();
            let col = |f: &dyn Fn(&Row) -> Option<f64>| ok.iter().filter_map(|r| f(r)).collect::<Vec<f64>>();
            let mean = |xs: Vec<f64>| Summary::of(&xs).map(|s| s.mean);
            Agg {
                // Every group holds at least the row that created it.
                cpus: reps[0].cpus,
                tps: Summary::of(&col(&|r| r.tps)),
                steady: Summary::of(&col(&|r| r.steady_tps.or(r.tps))),
                steady_batches: match ok[..] {
                    [r] => batches(r.steady_tps.or(r.tps), r.tps_se),
                    _ => None,
                },
                p99_max_ms: col(&|r| r.lat_p99_ms).into_iter().reduce(f64::max),
                p99_steady_max_ms: col(&|r| r.lat_p99_steady_ms.or(r.lat_p99_ms)).into_iter().reduce(f64::max),
                peak_rss_mb: mean(col(&|r| r.peak_rss_mb)),
                pss_mb: mean(col(&|r| r.pss_mb)),
                beta: mean(col(&|r| r.beta_mean)),
                lock_wait: mean(col(&|r| r.lock_wait_frac)),
                runq_wait: mean(col(&|r| r.runq_wait_frac)),
                final_threads: mean(col(&|r| r.final_threads.map(f64::from))),
                mean_threads: mean(col(&|r| r.mean_threads)),
                vetoes: mean(col(&|r| r.vetoes.map(f64::from))),
                ok: ok.len(),
                failed: reps.iter().filter(|r| r.status != Status::Ok).map(|r| r.status.as_str()).collect(),
                group,
            }
        })
        .collect()
}

/// A run's value with its batch-means error as a sample of `BATCHES` batches.
fn batches(mean: Option<f64>, se: Option<f64>) -> Option<Summary> {
    let (mean, se) = (mean?, se?);
    (mean.is_finite() && se.is_finite()).then(|| Summary { n: BATCHES, mean, sd: se * (BATCHES as f64).sqrt() })
}

/// The points of one curve (same device, runtime, workload, strategy), by N.
pub fn curves(aggs: &[Agg]) -> BTreeMap<(String, String, String, String), Vec<&Agg>> {
    let mut out: BTreeMap<_, Vec<&Agg>> = BTreeMap::new();
    for a in aggs.iter().filter(|a| a.group.threads > 0) {
        let (d, r, w, s) = a.group.curve();
        out.entry((d.to_string(), r.to_string(), w.to_string(), s.to_string())).or_default().push(a);
    }
    out
}

/// The best fixed pool of one device, runtime and workload.
#[derive(Debug, Clone)]
pub struct Optimum<'a> {
    pub device: String,
    pub runtime: String,
    pub workload: String,
    pub best: &'a Agg,
}

pub fn optima(aggs: &[Agg]) -> Vec<Optimum<'_>> {
    curves(aggs)
        .into_iter()
        .filter(|((.., s), _)| s == FIXED)
        .filter_map(|((device, runtime, workload, _), pts)| {
            let best = pts.into_iter().filter(|a| a.tps.is_some()).max_by(|a, b| {
                a.tps_mean().unwrap_or(0.0).total_cmp(&b.tps_mean().unwrap_or(0.0))
            })?;
            Some(Optimum { device, runtime, workload, best })
        })
        .collect()
}

/// A strategy point against the best fixed pool of its device, runtime and workload:
/// eta = steady TPS / best fixed TPS (the paper's efficiency).
#[derive(Debug, Clone)]
pub struct Efficiency<'a> {
    pub agg: &'a Agg,
    pub optimum: &'a Agg,
    pub eta: f64,
}

/// Every non-fixed strategy at its best N (elastic pools have one point), against the
/// optimum; points with no matching fixed sweep are left out (see `unmatched`).
pub fn efficiencies<'a>(aggs: &'a [Agg], optima: &[Optimum<'a>]) -> Vec<Efficiency<'a>> {
    best_per_strategy(aggs)
        .into_iter()
        .filter(|a| a.group.strategy != FIXED)
        .filter_map(|agg| {
            let g = &agg.group;
            let opt = optima
                .iter()
                .find(|o| o.device == g.device && o.runtime == g.runtime && o.workload == g.workload)?;
            let base = opt.best.tps_mean().filter(|&t| t > 0.0)?;
            Some(Efficiency { agg, optimum: opt.best, eta: agg.steady?.mean / base })
        })
        .collect()
}

/// Each (device, runtime, workload, strategy) at its best mean TPS: one bar per strategy.
pub fn best_per_strategy(aggs: &[Agg]) -> Vec<&Agg> {
    let mut best: BTreeMap<(&str, &str, &str, &str), &Agg> = BTreeMap::new();
    for a in aggs.iter().filter(|a| a.steady.is_some()) {
        let e = best.entry(a.group.curve()).or_insert(a);
        if a.steady.map_or(0.0, |s| s.mean) > e.steady.map_or(0.0, |s| s.mean) {
            *e = a;
        }
    }
    best.into_values().collect()
}

/// The shape of one TPS-vs-N curve: its peak and what is left at the largest N.
#[derive(Debug, Clone, PartialEq)]
pub struct Cliff {
    pub peak_threads: u32,
    pub peak_tps: f64,
    pub last_threads: u32,
    pub last_tps: f64,
    /// (peak - last) / peak, 0..1.
    pub loss: f64,
}

impl Cliff {
    pub fn of(curve: &[&Agg]) -> Option<Cliff> {
        let pts: Vec<(u32, f64)> =
            curve.iter().filter_map(|a| Some((a.group.threads, a.tps_mean()?))).collect();
        let &(peak_threads, peak_tps) = pts.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let &(last_threads, last_tps) = pts.iter().max_by_key(|p| p.0)?;
        let loss = if peak_tps > 0.0 { (peak_tps - last_tps) / peak_tps } else { 0.0 };
        Some(Cliff { peak_threads, peak_tps, last_threads, last_tps, loss })
    }

    /// "peak at N = 32, -41 % at N = 2048: cliff present".
    pub fn reading(&self) -> String {
        if self.peak_threads == self.last_threads {
            return format!("TPS still rising at N = {}: no cliff", self.last_threads);
        }
        let verdict = if self.loss >= CLIFF_LOSS { "cliff present" } else { "no cliff (loss < 20 %)" };
        format!(
            "peak at N = {} ({:.0} TPS), -{:.0} % at N = {}: {verdict}",
            self.peak_threads,
            self.peak_tps,
            100.0 * self.loss,
            self.last_threads
        )
    }
}

//! The tables behind the figures, as plain data that markdown.rs and html.rs both render,
//! and the short automatic reading.

use super::aggregate::{best_per_strategy, curves, Agg, Cliff, Efficiency, Group, Optimum, FIXED, LEVEL};
use super::figures::strategies::PAPER_ETA;
use super::stats::Summary;

#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    /// Says how to read the numbers (what "pooled" means, which column).
    pub note: String,
    pub header: Vec<&'static str>,
    /// Columns that hold numbers (right-aligned).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// "1234 [1200, 1270]", or the mean alone with one repetition.
pub fn mean_ci(s: Option<Summary>) -> String {
    match s {
        None => "-".into(),
        Some(s) => match s.interval(LEVEL) {
            Some((lo, hi)) => format!("{:.0} [{lo:.0}, {hi:.0}]", s.mean),
            None => format!("{:.0}", s.mean),
        },
    }
}

pub fn threads(n: u32) -> String {
    if n == 0 { "auto".into() } else { n.to_string() }
}

/// The cells that name a point: device, runtime, workload, strategy, N; the rest follow.
fn point_row(g: &Group, rest: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut row = vec![g.device.clone(), g.runtime.clone(), g.workload.clone(), g.strategy.clone(), threads(g.threads)];
    row.extend(rest);
    row
}

pub fn points(aggs: &[Agg]) -> Table {
    Table {
        title: "Every point".into(),
        note: "TPS: mean over ok repetitions with its 95 % t-interval [low, high] (none with one repetition). \
               P99: points.csv keeps one P99 per repetition, so the pooled P99 here is the largest of them. \
               beta, waits and RSS are means over repetitions."
            .into(),
        header: vec!["device", "runtime", "workload", "strategy", "N", "reps ok", "TPS [95 % CI]", "P99 (ms)", "beta", "lock wait", "run-queue wait", "peak RSS (MB)", "not ok"],
        numeric: vec![false, false, false, false, true, true, true, true, true, true, true, true, false],
        rows: aggs
            .iter()
            .map(|a| {
                point_row(
                    &a.group,
                    [
                        a.ok.to_string(),
                        mean_ci(a.tps),
                        opt(a.p99_max_ms, 2),
                        opt(a.beta, 3),
                        opt(a.lock_wait, 3),
                        opt(a.runq_wait, 3),
                        opt(a.peak_rss_mb, 1),
                        a.failed.join(" "),
                    ],
                )
            })
            .collect(),
    }
}

pub fn optima(opts: &[Optimum]) -> Table {
    Table {
        title: "Optimum: the best fixed pool per workload and device".into(),
        note: "The N with the highest mean TPS of the `fixed` strategy; efficiency is measured against it.".into(),
        header: vec!["device", "runtime", "workload", "best N", "TPS [95 % CI]", "P99 (ms)"],
        numeric: vec![false, false, false, true, true, true],
        rows: opts
            .iter()
            .map(|o| {
                vec![o.device.clone(), o.runtime.clone(), o.workload.clone(), threads(o.best.group.threads), mean_ci(o.best.tps), opt(o.best.p99_max_ms, 2)]
            })
            .collect(),
    }
}

/// The cliff of each runtime side by side, per workload, device and strategy, when more than
/// one runtime swept the same curve (emulated GIL against real CPython, version against
/// version): peak N, peak TPS, TPS at the largest N and the loss there.
pub fn cliffs_by_runtime(aggs: &[Agg]) -> Option<Table> {
    let curves = curves(aggs);
    let mut found: Vec<((&str, &str, &str, &str), Cliff)> = Vec::new();
    for ((d, r, w, s), pts) in &curves {
        let runtimes = curves.keys().filter(|(d2, _, w2, s2)| d2 == d && w2 == w && s2 == s).count();
        if let (true, Some(c)) = (runtimes > 1, Cliff::of(pts)) {
            found.push(((w, d, s, r), c));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let rows: Vec<Vec<String>> = found
        .iter()
        .enumerate()
        .map(|(i, ((w, d, s, r), c))| {
            // The curve's name once, then only the runtimes under it.
            let same = i > 0 && found[i - 1].0 .0 == *w && found[i - 1].0 .1 == *d && found[i - 1].0 .2 == *s;
            let name = |x: &str| if same { String::new() } else { x.to_string() };
            vec![
                name(w),
                name(d),
                name(s),
                r.to_string(),
                c.peak_threads.to_string(),
                format!("{:.0}", c.peak_tps),
                c.last_threads.to_string(),
                format!("{:.0}", c.last_tps),
                format!("-{:.0} %", 100.0 * c.loss),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        title: "Cliff by runtime".into(),
        note: "Mean TPS per N; peak = the N with the highest mean, loss = (peak - TPS at the largest N) / peak.".into(),
        header: vec!["workload", "device", "strategy", "runtime", "peak N", "peak TPS", "max N", "TPS at max N", "loss"],
        numeric: vec![false, false, false, false, true, true, true, true, true],
        rows,
    })
}

pub fn efficiency(effs: &[Efficiency]) -> Table {
    Table {
        title: "Efficiency against the optimum".into(),
        note: "eta = steady TPS (the steady_tps column where present, else tps) / mean TPS of the best fixed pool of the same device, runtime and workload. \
               Swept strategies are taken at their best N. P99 x = the strategy's P99 over its whole window / the best fixed pool's P99; \
               steady P99 x = its P99 over the steady window (the one steady TPS counts) / the best fixed pool's P99."
            .into(),
        header: vec!["device", "runtime", "workload", "strategy", "N", "mean N", "vetoes", "steady TPS [95 % CI]", "optimum TPS (N)", "eta", "P99 x", "steady P99 x"],
        numeric: vec![false, false, false, false, true, true, true, true, true, true, true, true],
        rows: effs
            .iter()
            .map(|e| {
                point_row(
                    &e.agg.group,
                    [
                        opt(e.agg.mean_threads, 1),
                        opt(e.agg.vetoes, 0),
                        mean_ci(e.agg.steady),
                        optimum_cell(e.optimum),
                        format!("{:.1} %", 100.0 * e.eta),
                        ratio(e.agg.p99_max_ms, e.optimum.p99_max_ms),
                        ratio(e.agg.p99_steady_max_ms, e.optimum.p99_max_ms),
                    ],
                )
            })
            .collect(),
    }
}

/// a / b, None without both (or with b = 0).
pub fn ratio_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// a / b to two decimals, "-" without both.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    ratio_of(a, b).map_or("-".into(), |r| format!("{r:.2}"))
}

/// The best fixed pool as "mean TPS (N)".
pub fn optimum_cell(o: &Agg) -> String {
    format!("{:.0} ({})", o.tps_mean().unwrap_or(0.0), o.group.threads)
}

/// Strategies at their best N, when there is more than one strategy or an elastic pool.
pub fn strategies(aggs: &[Agg]) -> Option<Table> {
    let best = best_per_strategy(aggs);
    if best.iter().all(|a| a.group.strategy == FIXED) {
        return None;
    }
    Some(Table {
        title: "Strategies at their best N".into(),
        note: "Elastic pools (N = auto) chose their own size: mean N is time-weighted over the run.".into(),
        header: vec!["device", "runtime", "workload", "strategy", "N", "mean N", "TPS [95 % CI]", "steady TPS", "P99 (ms)", "beta", "peak RSS (MB)"],
        numeric: vec![false, false, false, false, true, true, true, true, true, true, true],
        rows: best
            .iter()
            .map(|a| {
                point_row(
                    &a.group,
                    [
                        opt(a.mean_threads, 1),
                        mean_ci(a.tps),
                        opt(a.steady.map(|s| s.mean), 0),
                        opt(a.p99_max_ms, 2),
                        opt(a.beta, 3),
                        opt(a.peak_rss_mb, 1),
                    ],
                )
            })
            .collect(),
    })
}

/// One line per swept curve ("peak at N = 32, -41 % at N = 2048: cliff present"), then the
/// mean efficiency per strategy against the paper's figure.
pub fn reading(aggs: &[Agg], effs: &[Efficiency]) -> Vec<String> {
    let mut out: Vec<String> = curves(aggs)
        .iter()
        .filter_map(|((d, r, w, s), pts)| Some(format!("{w} on {d}, {r}, {s}: {}", Cliff::of(pts)?.reading())))
        .collect();
    let mut by: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for e in effs {
        by.entry(&e.agg.group.strategy).or_default().push(e.eta);
    }
    for (s, etas) in by {
        let mean = etas.iter().sum::<f64>() / etas.len() as f64;
        out.push(format!(
            "{s}: mean efficiency {:.1} % over {} workload/device pairs (paper: {:.1} %)",
            100.0 * mean,
            etas.len(),
            PAPER_ETA[1].1
        ));
    }
    out
}

//! means.csv: one tidy row per point with its repetitions pooled (the report's `Agg`), so
//! that scripts and notebooks read the report's own estimates (means, t-intervals, the
//! largest P99) instead of computing them again.

use std::path::Path;

use anyhow::Context;

use super::aggregate::{Agg, LEVEL};
use super::stats::Summary;

/// The columns, documented in the README ("Reports").
pub const HEADER: [&str; 25] = [
    "device",
    "runtime",
    "workload",
    "strategy",
    "threads",
    "cpus",
    "reps",
    "reps_ok",
    "not_ok",
    "tps_mean",
    "tps_ci_low",
    "tps_ci_high",
    "steady_tps_mean",
    "steady_tps_ci_low",
    "steady_tps_ci_high",
    "lat_p99_max_ms",
    "lat_p99_steady_max_ms",
    "beta_mean",
    "lock_wait_frac",
    "runq_wait_frac",
    "peak_rss_mb",
    "pss_mb",
    "final_threads",
    "mean_threads",
    "vetoes",
];

pub fn write(aggs: &[Agg], path: &Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(HEADER)?;
    for a in aggs {
        w.write_record(record(a))?;
    }
    w.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Empty where there is no value (no ok repetition, or no interval from one repetition).
fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// mean, interval low, interval high.
fn estimate(s: Option<Summary>) -> [String; 3] {
    let ci = s.and_then(|s| s.interval(LEVEL));
    [num(s.map(|s| s.mean)), num(ci.map(|c| c.0)), num(ci.map(|c| c.1))]
}

fn record(a: &Agg) -> Vec<String> {
    let g = &a.group;
    let mut r = vec![
        g.device.clone(),
        g.runtime.clone(),
        g.workload.clone(),
        g.strategy.clone(),
        g.threads.to_string(),
        a.cpus.to_string(),
        (a.ok + a.failed.len()).to_string(),
        a.ok.to_string(),
        a.failed.join("+"),
    ];
    r.extend(estimate(a.tps));
    r.extend(estimate(a.steady));
    r.extend(
        [
            a.p99_max_ms,
            a.p99_steady_max_ms,
            a.beta,
            a.lock_wait,
            a.runq_wait,
            a.peak_rss_mb,
            a.pss_mb,
            a.final_threads,
            a.mean_threads,
            a.vetoes,
        ]
        .map(num),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::aggregate::aggregate;
    use crate::report::summary::tests::row;
    use crate::results::Status;

    #[test]
    fn one_row_per_point_with_the_reports_estimates() {
        let rows = vec![
            row(8, 0, 300.0, Status::Ok),
            row(8, 1, 500.0, Status::Ok),
            row(8, 2, 0.0, Status::Oom),
            row(16, 0, 200.0, Status::Ok),
        ];
        let aggs = aggregate(&rows);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("means.csv");
        write(&aggs, &path).unwrap();
        let mut rd = csv::Reader::from_path(&path).unwrap();
        assert_eq!(rd.headers().unwrap().iter().collect::<Vec<_>>(), HEADER);
        let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        let col = |r: &csv::StringRecord, name: &str| r[HEADER.iter().position(|h| *h == name).unwrap()].to_string();
        let eight = &recs[0];
        assert_eq!((col(eight, "threads"), col(eight, "reps"), col(eight, "reps_ok")), ("8".into(), "3".into(), "2".into()));
        assert_eq!(col(eight, "not_ok"), "oom");
        assert_eq!(col(eight, "tps_mean"), "400");
        // Two values 300 and 500: sd 141.42, t(0.975, 1) = 12.706, half-width 1270.6.
        let lo: f64 = col(eight, "tps_ci_low").parse().unwrap();
        let hi: f64 = col(eight, "tps_ci_high").parse().unwrap();
        assert!((lo + 870.6).abs() < 0.5 && (hi - 1670.6).abs() < 0.5, "{lo} {hi}");
        // One repetition: a mean, no interval.
        let sixteen = &recs[1];
        assert_eq!((col(sixteen, "tps_mean"), col(sixteen, "tps_ci_low")), ("200".into(), String::new()));
        assert_eq!(col(sixteen, "not_ok"), "");
    }
}

//! The end-of-run summary: per device x runtime x workload x strategy, the best N and its
//! throughput, and what is left at the largest N (the saturation cliff, if any).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::results::{Row, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub device: String,
    pub runtime: String,
    pub workload: String,
    pub strategy: String,
    pub best_threads: u32,
    pub best_tps: f64,
    pub best_p99_ms: Option<f64>,
    pub max_threads: u32,
    pub max_tps: f64,
    /// (best - at max N) / best, in percent.
    pub loss_pct: f64,
    pub points_ok: usize,
    pub points_failed: usize,
}

/// Mean TPS per N over repetitions (ok rows only), then the best and the last N.
pub fn summarise(rows: &[Row]) -> Vec<Line> {
    type Group = (String, String, String, String);
    let mut groups: BTreeMap<Group, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let k = (r.device.clone(), r.runtime.clone(), r.workload.clone(), r.strategy.clone());
        groups.entry(k).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((device, runtime, workload, strategy), rows) in groups {
        let failed = rows.iter().filter(|r| r.status != Status::Ok).count();
        let mut by_n: BTreeMap<u32, (f64, f64, usize)> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.status == Status::Ok) {
            let e = by_n.entry(r.threads).or_insert((0.0, 0.0, 0));
            e.0 += r.tps.unwrap_or(0.0);
            e.1 = e.1.max(r.lat_p99_ms.unwrap_or(0.0));
            e.2 += 1;
        }
        let means: Vec<(u32, f64, f64)> =
            by_n.into_iter().map(|(n, (s, p99, c))| (n, s / c as f64, p99)).collect();
        let Some(&(best_threads, best_tps, best_p99)) =
            means.iter().max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            continue;
        };
        let &(max_threads, max_tps, _) = means.last().unwrap_or(&(best_threads, best_tps, best_p99));
        out.push(Line {
            device,
            runtime,
            workload,
            strategy,
            best_threads,
            best_tps,
            best_p99_ms: (best_p99 > 0.0).then_some(best_p99),
            max_threads,
            max_tps,
            loss_pct: if best_tps > 0.0 { 100.0 * (best_tps - max_tps) / best_tps } else { 0.0 },
            points_ok: means.len(),
            points_failed: failed,
        });
    }
    out
}

/// A markdown table (also readable as plain text in a terminal).
pub fn table(lines: &[Line]) -> String {
    let mut s = String::from(
        "| device | runtime | workload | strategy | best N | best TPS | P99 at best (ms) | max N | TPS at max N | loss at max N |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for l in lines {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {:.0} | {:.1} % |",
            l.device,
            l.runtime,
            l.workload,
            l.strategy,
            threads(l.best_threads),
            l.best_tps,
            l.best_p99_ms.map_or("-".into(), |v| format!("{v:.2}")),
            threads(l.max_threads),
            l.max_tps,
            l.loss_pct
        );
    }
    s
}

/// Elastic pools are recorded with N = 0: they chose their own size.
fn threads(n: u32) -> String {
    if n == 0 {
        "auto".into()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::limits::Enforcement;

    /// A fixed-pool row of one device, runtime and workload (the report's tests share it).
    pub fn row(threads: u32, rep: u32, tps: f64, status: Status) -> Row {
        Row {
            scenario: "s".into(),
            device: "d".into(),
            runtime: "gil".into(),
            workload: "w".into(),
            strategy: "fixed".into(),
            threads,
            rep,
            status,
            enforcement: Enforcement::CgroupV1,
            cpus: 1,
            memory_cap_mb: None,
            cpu_quota: None,
            tasks: Some(10),
            tasks_unfinished: Some(0),
            elapsed_s: Some(1.0),
            tps: Some(tps),
            lat_p50_ms: None,
            lat_p95_ms: None,
            lat_p99_ms: Some(1.0),
            lat_max_ms: None,
            resp_p99_ms: None,
            beta_mean: None,
            lock_wait_frac: None,
            runq_wait_frac: None,
            cpu_cores_used: None,
            peak_rss_mb: None,
            pss_mb: None,
            cgroup_mem_peak_mb: None,
            ctx_voluntary: None,
            ctx_involuntary: None,
            spawn_ms: None,
            final_threads: None,
            mean_threads: None,
            vetoes: None,
            settle_s: None,
            steady_tps: None,
            lat_p99_steady_ms: None,
            tps_se: None,
            interpreter: None,
            cpu_speed: None,
            point_wall_s: 1.0,
            message: String::new(),
        }
    }

    #[test]
    fn best_and_loss_from_means() {
        let rows = vec![
            row(1, 0, 100.0, Status::Ok),
            row(8, 0, 300.0, Status::Ok),
            row(8, 1, 500.0, Status::Ok),
            row(64, 0, 300.0, Status::Ok),
            row(128, 0, 0.0, Status::Timeout),
        ];
        let l = &summarise(&rows)[0];
        assert_eq!((l.best_threads, l.best_tps), (8, 400.0));
        assert_eq!((l.max_threads, l.max_tps), (64, 300.0));
        assert!((l.loss_pct - 25.0).abs() < 1e-9);
        assert_eq!((l.points_ok, l.points_failed), (3, 1));
        assert!(table(std::slice::from_ref(l)).contains("| 8 | 400 |"));
    }
}

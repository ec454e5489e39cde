//! The controllers repetition by repetition, with the CPU time each task cost them against
//! what it cost the fixed pools of the same repetition at the same N. Repetitions of one
//! point can disagree by a third: the machine has spells in which the same work takes more
//! CPU time (a VM whose host is busy reports no steal time: the lost time is charged to
//! whatever ran). Where the cores are saturated, eta splits into the choice of N (the fixed
//! pool at the controller's N against the best) and the run itself (this ratio, inverted):
//! a controller point that paid much more per task than the fixed pools at its N lost
//! throughput to a slower machine or to its own overhead, not to its sizing.

use std::collections::BTreeMap;

use super::aggregate::fixed_sweeps;
use super::controllers::CONTROLLERS;
use super::tables::Table;
use crate::results::{Row, Status};

/// (device, runtime, workload, rep).
type Key<'a> = (&'a str, &'a str, &'a str, u32);

/// CPU seconds per task of a row that ended ok, None where it was not measured.
fn cost(r: &Row) -> Option<f64> {
    let (cpu, tps) = (r.cpu_cores_used?, r.tps?);
    (r.status == Status::Ok && cpu > 0.0 && tps > 0.0).then(|| cpu / tps)
}

/// A fixed sweep of one repetition: (N, CPU s per task) by N, the best TPS and the CPU speed
/// measured while that best pool ran.
#[derive(Default)]
struct Sweep {
    cost: Vec<(u32, f64)>,
    best_tps: f64,
    best_speed: Option<f64>,
}

impl Sweep {
    fn of(rows: &[&Row]) -> Sweep {
        let mut s = Sweep::default();
        for r in rows {
            let tps = r.tps.unwrap_or(0.0);
            if tps > s.best_tps {
                (s.best_tps, s.best_speed) = (tps, r.cpu_speed);
            }
            s.cost.extend(cost(r).map(|c| (r.threads, c)));
        }
        s.cost.sort_by_key(|p| p.0);
        s
    }

    /// CPU s per task at `n` threads: linear in log N between the neighbouring Ns of the
    /// sweep, the end values beyond them.
    fn cost_at(&self, n: f64) -> Option<f64> {
        let pts = &self.cost;
        let (&(lo_n, lo_c), &(hi_n, hi_c)) = (pts.first()?, pts.last()?);
        if n <= f64::from(lo_n) {
            return Some(lo_c);
        }
        if n >= f64::from(hi_n) {
            return Some(hi_c);
        }
        let i = pts.iter().position(|&(m, _)| f64::from(m) >= n)?;
        let ((a, ca), (b, cb)) = (pts[i - 1], pts[i]);
        let t = (n.ln() - f64::from(a).ln()) / (f64::from(b).ln() - f64::from(a).ln());
        Some(ca + t * (cb - ca))
    }
}

/// One controller point: its eta against its own repetition's best fixed pool, its CPU
/// cost per task against the fixed pools' at its mean N, and the CPU speed measured while it
/// ran against the one measured while that best pool ran (`cpu_speed`).
#[derive(Debug, Clone, PartialEq)]
pub struct RepScore {
    pub rep: u32,
    pub eta: f64,
    pub cost_x: Option<f64>,
    pub speed_x: Option<f64>,
}

/// (device, runtime, workload) -> controller -> its repetitions, in order.
pub type ByCell<'a> = BTreeMap<(&'a str, &'a str, &'a str), BTreeMap<&'static str, Vec<RepScore>>>;

pub fn by_rep(rows: &[Row]) -> ByCell<'_> {
    let sweeps: BTreeMap<Key, Sweep> = fixed_sweeps(rows).into_iter().map(|(k, rs)| (k, Sweep::of(&rs))).collect();
    let mut out: ByCell = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let Some(&name) = CONTROLLERS.iter().find(|&&c| c == r.strategy) else { continue };
        let Some(s) = sweeps.get(&(&r.device, &r.runtime, &r.workload, r.rep)) else { continue };
        let Some(steady) = r.steady_tps.or(r.tps).filter(|_| s.best_tps > 0.0) else { continue };
        let cost_x = match (cost(r), r.mean_threads.filter(|&n| n > 0.0)) {
            (Some(c), Some(n)) => s.cost_at(n).map(|f| c / f),
            _ => None,
        };
        let speed_x = r.cpu_speed.zip(s.best_speed).filter(|p| p.1 > 0.0).map(|(a, b)| a / b);
        let score = RepScore { rep: r.rep, eta: steady / s.best_tps, cost_x, speed_x };
        out.entry((&r.device, &r.runtime, &r.workload)).or_default().entry(name).or_default().push(score);
    }
    for reps in out.values_mut().flat_map(|m| m.values_mut()) {
        reps.sort_by_key(|s| s.rep);
    }
    out
}

/// A ratio of CPU cost per task from which a point is marked. The same fixed pool's cost
/// differed between two repetitions by 12 % (sd of the log ratio, 251 pairs of the
/// development VM's strategies pass), so a mark is a difference of that order, on either side.
pub const SLOWED: f64 = 1.15;

pub fn table(rows: &[Row]) -> Option<Table> {
    let cells = by_rep(rows);
    let shown: Vec<&'static str> =
        CONTROLLERS.into_iter().filter(|c| cells.values().any(|m| m.contains_key(c))).collect();
    if shown.is_empty() {
        return None;
    }
    let mut header = vec!["device", "runtime", "workload"];
    header.extend(&shown);
    let rows = cells
        .iter()
        .map(|((d, r, w), m)| {
            let mut row = vec![d.to_string(), r.to_string(), w.to_string()];
            row.extend(shown.iter().map(|c| match m.get(c) {
                Some(reps) => reps.iter().map(cell).collect::<Vec<_>>().join(", "),
                None => "-".into(),
            }));
            row
        })
        .collect();
    let n = header.len();
    Some(Table {
        title: "Controllers by repetition: eta and CPU time per task".into(),
        note: format!(
            "Each repetition in order: eta against that repetition's best fixed pool (whole-run TPS; steady TPS \
             for the controller), and in brackets the CPU time per task of the controller point against that of \
             the same repetition's fixed pools at its mean N (linear in log N between the sweep's Ns). A ratio of \
             {SLOWED}x or more (marked *): the point got much less work out of each CPU second than the fixed pools \
             did at the same N, so the machine ran slower during it (a VM whose host is busy reports no steal \
             time) or the pool itself cost CPU; either way that part of its loss is not the choice of N. \
             'speed': the CPU speed measured while the point ran (`cpu_speed`, short timed runs of its kernels \
             beside the pool) against the one measured while that repetition's best fixed pool ran; below 1, \
             the point ran on a slower machine than its reference did."
        ),
        header,
        numeric: (0..n).map(|i| i >= 3).collect(),
        rows,
    })
}

/// "96 % (1.03x)", "81 % (1.19x*, speed 0.86)".
fn cell(s: &RepScore) -> String {
    let mut parts = Vec::new();
    if let Some(x) = s.cost_x {
        parts.push(format!("{x:.2}x{}", if x >= SLOWED { "*" } else { "" }));
    }
    if let Some(v) = s.speed_x {
        parts.push(format!("speed {v:.2}"));
    }
    let eta = format!("{:.0} %", 100.0 * s.eta);
    if parts.is_empty() {
        eta
    } else {
        format!("{eta} ({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::row;

    fn point(strategy: &str, threads: u32, rep: u32, tps: f64, cpu: f64, mean_n: Option<f64>) -> Row {
        let mut r = row(threads, rep, tps, Status::Ok);
        r.strategy = strategy.into();
        r.cpu_cores_used = Some(cpu);
        r.mean_threads = mean_n;
        r
    }

    #[test]
    fn cost_is_interpolated_in_log_n_and_judged_per_repetition() {
        // Fixed 4: 100 TPS on 1 core (10 ms per task); fixed 16: 80 TPS (12.5 ms). At N = 8,
        // halfway in log N: 11.25 ms. The controller at a mean of 8 threads: 90 TPS on 1 core
        // = 11.11 ms per task in repetition 0 (0.988x), 60 TPS = 16.67 ms in repetition 1
        // (1.481x), whose own sweep is the same.
        let mut rows = Vec::new();
        for rep in 0..2 {
            rows.push(point("fixed", 4, rep, 100.0, 1.0, None));
            rows.push(point("fixed", 16, rep, 80.0, 1.0, None));
        }
        rows.push(point("adaptive", 0, 0, 90.0, 1.0, Some(8.0)));
        rows.push(point("adaptive", 0, 1, 60.0, 1.0, Some(8.0)));
        let got = &by_rep(&rows)[&("d", "gil", "w")]["adaptive"];
        assert_eq!(got.len(), 2);
        assert!((got[0].eta - 0.9).abs() < 1e-12 && (got[1].eta - 0.6).abs() < 1e-12);
        let x0 = got[0].cost_x.unwrap();
        let x1 = got[1].cost_x.unwrap();
        assert!((x0 - (1.0 / 90.0) / 0.01125).abs() < 1e-12, "{x0}");
        assert!((x1 - (1.0 / 60.0) / 0.01125).abs() < 1e-12, "{x1}");
        let t = table(&rows).expect("a table");
        assert_eq!(t.rows[0][3], "90 % (0.99x), 60 % (1.48x*)");
    }

    #[test]
    fn speed_is_against_the_best_fixed_pool_of_the_same_repetition() {
        let mut rows = vec![
            point("fixed", 4, 0, 100.0, 1.0, None),
            point("fixed", 16, 0, 80.0, 1.0, None),
            point("adaptive", 0, 0, 90.0, 1.0, Some(4.0)),
        ];
        for (r, s) in rows.iter_mut().zip([0.95, 0.5, 0.76]) {
            r.cpu_speed = Some(s);
        }
        let got = &by_rep(&rows)[&("d", "gil", "w")]["adaptive"][0];
        // Against fixed 4 (the best, 0.95), not fixed 16 (0.5).
        assert!((got.speed_x.unwrap() - 0.8).abs() < 1e-12, "{got:?}");
        assert_eq!(table(&rows).unwrap().rows[0][3], "90 % (1.11x, speed 0.80)");
    }

    #[test]
    fn beyond_the_sweep_the_end_values_hold_and_unmeasured_cost_is_left_out() {
        let rows = vec![
            point("fixed", 4, 0, 100.0, 1.0, None),
            point("fixed", 16, 0, 50.0, 1.0, None),
            point("adaptive", 0, 0, 100.0, 1.0, Some(2.0)),
            point("adaptive-paper", 0, 0, 40.0, 1.0, Some(64.0)),
        ];
        let cells = by_rep(&rows);
        let m = &cells[&("d", "gil", "w")];
        assert!((m["adaptive"][0].cost_x.unwrap() - 1.0).abs() < 1e-12);
        // 25 ms per task against 20 ms at N = 16.
        assert!((m["adaptive-paper"][0].cost_x.unwrap() - 1.25).abs() < 1e-12);
        let mut no_cpu = point("adaptive", 0, 0, 100.0, 1.0, Some(8.0));
        no_cpu.cpu_cores_used = None;
        let mut only = rows[..2].to_vec();
        only.push(no_cpu);
        let cells = by_rep(&only);
        let want = RepScore { rep: 0, eta: 1.0, cost_x: None, speed_x: None };
        assert_eq!(cells[&("d", "gil", "w")]["adaptive"][..], [want]);
    }
}

//! The noise floor under the controllers' target. With two or more repetitions of a fixed
//! sweep: in each repetition, the fixed pool whose N was best over the *other* repetitions,
//! as it measured in this one. Its eta, against the same best fixed pool the controllers are
//! judged by, is what a pool sized with hindsight scores from noise and drift alone: the
//! reference is the largest of several noisy means, so even the right fixed N reads below it.

use std::collections::BTreeMap;

use super::aggregate::{fixed_sweeps, Optimum};
use super::tables::ratio_of;
use crate::results::Row;

/// A fixed pool sized on the other repetitions, over the repetitions of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Hindsight {
    /// Mean TPS of the picks, each in its own repetition, / the best fixed pool's mean TPS.
    pub eta: f64,
    /// The largest P99 of the picks / the best fixed pool's (largest) P99.
    pub p99_x: Option<f64>,
    /// The N picked for each repetition, in repetition order.
    pub picks: Vec<u32>,
}

/// (device, runtime, workload) -> its hindsight pool, for cells with a fixed sweep of at
/// least two repetitions.
pub fn hindsight<'o>(rows: &[Row], optima: &'o [Optimum]) -> BTreeMap<(&'o str, &'o str, &'o str), Hindsight> {
    let sweeps = fixed_sweeps(rows);
    optima
        .iter()
        .filter_map(|o| {
            // rep -> N -> (tps, p99) of the cell's fixed pools that ended ok.
            let (d, rt, w) = (o.device.as_str(), o.runtime.as_str(), o.workload.as_str());
            let mut reps: BTreeMap<u32, BTreeMap<u32, (f64, Option<f64>)>> = BTreeMap::new();
            for (&(.., rep), rs) in sweeps.range((d, rt, w, 0)..=(d, rt, w, u32::MAX)) {
                for r in rs {
                    if let Some(tps) = r.tps.filter(|t| t.is_finite()) {
                        reps.entry(rep).or_default().insert(r.threads, (tps, r.lat_p99_ms));
                    }
                }
            }
            let (mut tps, mut p99, mut picks) = (Vec::new(), Vec::new(), Vec::new());
            for (&rep, this) in &reps {
                let Some(n) = best_elsewhere(&reps, rep) else { continue };
                let Some(&(t, p)) = this.get(&n) else { continue };
                tps.push(t);
                p99.extend(p);
                picks.push(n);
            }
            let base = o.best.tps_mean().filter(|&t| t > 0.0)?;
            (tps.len() >= 2).then(|| {
                let p99_x = ratio_of(p99.into_iter().reduce(f64::max), o.best.p99_max_ms);
                let eta = tps.iter().sum::<f64>() / tps.len() as f64 / base;
                ((o.device.as_str(), o.runtime.as_str(), o.workload.as_str()), Hindsight { eta, p99_x, picks })
            })
        })
        .collect()
}

/// The N with the highest mean TPS over every repetition but `rep`.
fn best_elsewhere(reps: &BTreeMap<u32, BTreeMap<u32, (f64, Option<f64>)>>, rep: u32) -> Option<u32> {
    let mut sums: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for (_, pts) in reps.iter().filter(|(&r, _)| r != rep) {
        for (&n, &(t, _)) in pts {
            let s = sums.entry(n).or_default();
            *s = (s.0 + t, s.1 + 1);
        }
    }
    sums.into_iter().map(|(n, (sum, k))| (n, sum / k as f64)).max_by(|a, b| a.1.total_cmp(&b.1)).map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::aggregate::{aggregate, optima};
    use crate::report::summary::tests::row;
    use crate::results::Status;

    fn fixed(threads: u32, rep: u32, tps: f64, p99: f64) -> Row {
        let mut r = row(threads, rep, tps, Status::Ok);
        r.lat_p99_ms = Some(p99);
        r
    }

    #[test]
    fn each_repetition_runs_the_pool_the_other_chose() {
        // Means: N 8 = 97.5 (the reference), N 16 = 97. Repetition 0 would pick 16 (best in
        // repetition 1) and measured 90 there; repetition 1 picks 8 and measured 95.
        let rows = vec![
            fixed(8, 0, 100.0, 10.0),
            fixed(16, 0, 90.0, 30.0),
            fixed(8, 1, 95.0, 12.0),
            fixed(16, 1, 104.0, 20.0),
        ];
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let h = hindsight(&rows, &opts);
        let got = h.values().next().expect("one cell");
        assert_eq!(got.picks, [16, 8]);
        assert!((got.eta - 92.5 / 97.5).abs() < 1e-12, "{}", got.eta);
        // Worst pick P99 30 against the reference's worst 12.
        assert!((got.p99_x.unwrap() - 2.5).abs() < 1e-12);
    }

    #[test]
    fn one_repetition_or_a_failed_pick_leaves_the_cell_out() {
        let once = vec![fixed(8, 0, 100.0, 10.0), fixed(16, 0, 90.0, 10.0)];
        let aggs = aggregate(&once);
        assert!(hindsight(&once, &optima(&aggs)).is_empty());
        // Repetition 1's pick (16, best in repetition 0) ended in an error there: one pick is left,
        // too few for a reading.
        let mut rows = vec![fixed(8, 0, 90.0, 10.0), fixed(16, 0, 100.0, 10.0), fixed(8, 1, 95.0, 10.0)];
        rows.push(row(16, 1, 0.0, Status::Error));
        let aggs = aggregate(&rows);
        assert!(hindsight(&rows, &optima(&aggs)).is_empty());
    }
}

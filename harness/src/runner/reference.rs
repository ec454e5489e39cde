//! `fixed-best` points: the runner picks their N from the fixed pools already recorded in
//! the same device, runtime, workload and repetition, and runs them as that fixed pool. The
//! row keeps threads = 0 (its key in the plan, so --resume finds it) and gives the N picked
//! as final and mean threads, like an elastic pool's.

use std::collections::BTreeMap;

use crate::results::{Row, Status};
use crate::scenario::{Point, StrategySpec};

type Cell = (String, String, String, u32);

/// The best ok fixed pool of a cell so far, and how many ok fixed pools it was picked from.
#[derive(Debug, Clone, Copy)]
struct Best {
    threads: u32,
    tps: f64,
    pools: usize,
}

/// The best ok fixed pool so far per (device, runtime, workload, repetition).
#[derive(Debug, Default)]
pub struct BestFixed(BTreeMap<Cell, Best>);

fn cell(p: &Point) -> Cell {
    (p.device.name.clone(), p.runtime_name.clone(), p.workload.name.clone(), p.rep)
}

impl BestFixed {
    pub fn of(rows: &[Row]) -> BestFixed {
        let mut b = BestFixed::default();
        rows.iter().for_each(|r| b.add(r));
        b
    }

    /// Takes a finished row into account (only ok fixed pools count; on a tie the smaller N).
    pub fn add(&mut self, r: &Row) {
        let fixed = r.strategy == StrategySpec::Fixed.name() && r.status == Status::Ok;
        let Some(tps) = r.tps.filter(|t| fixed && t.is_finite()) else {
            return;
        };
        let key = (r.device.clone(), r.runtime.clone(), r.workload.clone(), r.rep);
        let e = self.0.entry(key).or_insert(Best { threads: r.threads, tps, pools: 0 });
        e.pools += 1;
        if tps > e.tps || (tps == e.tps && r.threads < e.threads) {
            (e.threads, e.tps) = (r.threads, tps);
        }
    }

    /// The point to run for a `fixed-best` point: the fixed pool at the best N so far.
    pub fn resolve(&self, p: &Point) -> Result<Point, String> {
        let best = self.0.get(&cell(p)).ok_or_else(|| {
            format!(
                "fixed-best: no fixed pool of {} / {} / {} in repetition {} has ended ok before it \
                 (run the sweep's \"fixed\" points first, e.g. without --only, or with --resume into \
                 the folder that has them)",
                p.device.name, p.runtime_name, p.workload.name, p.rep
            )
        })?;
        Ok(Point { strategy: StrategySpec::Fixed, threads: best.threads, ..p.clone() })
    }

    /// A row measured for the fixed pool `resolve` picked, written as the `fixed-best` point,
    /// with what it was picked from in its message (a shard's folder holds only some Ns).
    pub fn record(&self, mut row: Row, planned: &Point) -> Row {
        let n = row.threads;
        if let Some(b) = self.0.get(&cell(planned)) {
            let pick = format!("N {n}: the best of {} fixed pools before it, {:.1} TPS then", b.pools, b.tps);
            row.message = if row.message.is_empty() { pick } else { format!("{pick}; {}", row.message) };
        }
        row.strategy = planned.strategy.label();
        row.threads = planned.threads;
        row.final_threads = Some(n);
        row.mean_threads = Some(f64::from(n));
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::row as fixed_row;
    use crate::scenario::{RuntimeSpec, TaskBudget};

    /// A fixed pool's row of the cell `point` is in (device d, runtime r, workload w).
    fn row(threads: u32, rep: u32, tps: f64, status: Status) -> Row {
        Row { runtime: "r".into(), ..fixed_row(threads, rep, tps, status) }
    }

    fn point(strategy: StrategySpec, threads: u32, rep: u32) -> Point {
        let budget = TaskBudget::Count(1);
        let p = crate::scenario::test_point(vec![], RuntimeSpec::FreeThreaded, 1, threads, budget);
        Point { strategy, rep, ..p }
    }

    #[test]
    fn picks_the_best_ok_fixed_pool_of_its_own_cell_and_repetition() {
        let mut rows = vec![row(4, 0, 100.0, Status::Ok), row(8, 0, 120.0, Status::Ok), row(16, 0, 130.0, Status::Oom)];
        // The same N better in another repetition, and another strategy, do not count.
        rows.push(row(32, 1, 500.0, Status::Ok));
        let mut other = row(64, 0, 900.0, Status::Ok);
        other.strategy = "adaptive".into();
        rows.push(other);
        let best = BestFixed::of(&rows);
        let planned = point(StrategySpec::FixedBest, 0, 0);
        let p = best.resolve(&planned).expect("a fixed pool ran");
        assert_eq!((p.strategy, p.threads), (StrategySpec::Fixed, 8));
        // A tie goes to the smaller N; a later better row moves the pick.
        let mut b = BestFixed::of(&rows);
        b.add(&row(2, 0, 120.0, Status::Ok));
        assert_eq!(b.resolve(&planned).map(|p| p.threads), Ok(2));
        b.add(&row(16, 0, 121.0, Status::Ok));
        assert_eq!(b.resolve(&planned).map(|p| p.threads), Ok(16));
        // Repetition 1 has its own pick.
        let p1 = point(StrategySpec::FixedBest, 0, 1);
        assert_eq!(b.resolve(&p1).map(|p| p.threads), Ok(32));
    }

    #[test]
    fn without_a_fixed_pool_before_it_the_point_says_what_to_run() {
        let planned = point(StrategySpec::FixedBest, 0, 0);
        let err = BestFixed::of(&[row(8, 0, 1.0, Status::Timeout)]).resolve(&planned).unwrap_err();
        assert!(err.contains("no fixed pool") && err.contains("\"fixed\""), "{err}");
    }

    #[test]
    fn the_row_keeps_its_plan_key_and_tells_the_n_it_ran() {
        let planned = point(StrategySpec::FixedBest, 0, 0);
        let best = BestFixed::of(&[row(4, 0, 100.0, Status::Ok), row(8, 0, 120.0, Status::Ok)]);
        let ran = row(8, 0, 117.0, Status::Ok);
        let r = best.record(ran, &planned);
        assert_eq!((r.strategy.as_str(), r.threads, r.final_threads, r.mean_threads), ("fixed-best", 0, Some(8), Some(8.0)));
        assert_eq!(r.key(), planned.key());
        assert_eq!(r.message, "N 8: the best of 2 fixed pools before it, 120.0 TPS then");
    }
}

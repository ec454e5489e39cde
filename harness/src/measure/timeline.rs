//! What an elastic pool did, interval by interval, and when it settled.

use serde::{Deserialize, Serialize};

/// One control interval. Written as `timelines/<point>.csv` beside points.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub t_s: f64,
    /// Pool size during the interval.
    pub threads: u32,
    /// Tasks completed in the interval per second.
    pub tps: f64,
    pub beta: Option<f64>,
    pub beta_ewma: Option<f64>,
    pub lock_wait_frac: Option<f64>,
    pub runq_wait_frac: Option<f64>,
    pub queue_len: usize,
    pub cpu_util: f64,
    /// What the controller decided at the end of the interval, and the size it asked for.
    pub decision: String,
    pub target: u32,
    pub vetoes: u32,
    /// Memory in use / the process's memory limit (none without a limit, or in runs from
    /// before this column).
    #[serde(default)]
    pub memory_frac: Option<f64>,
}

/// Summary of a timeline for the points.csv row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settling {
    pub final_threads: u32,
    /// Time-weighted mean pool size.
    pub mean_threads: f64,
    pub vetoes: u32,
    /// Start of the first interval from which throughput, averaged over `SMOOTH_S`, stays
    /// within the band around the final throughput (the mean of the last quarter of the run).
    pub settle_s: f64,
    /// The steady-state TPS: throughput from `settle_s`, or from half-time if it settled
    /// earlier (so that the steady state is never a handful of intervals at the very end of
    /// a run that merely dipped there, and never includes the first half's search); the
    /// whole window's when the queue was empty in the second half (a drained batch, an open
    /// loop that kept up with its arrivals).
    pub steady_tps: f64,
    /// Where the steady window starts (seconds since the window's start): the P99 of the
    /// steady state counts tasks that ended from here on.
    #[serde(default)]
    pub steady_from_s: f64,
}

/// How far from the final throughput a smoothed interval may be and still count as settled:
/// 5 %, or the counting noise of the smoothing window (1/sqrt(tasks)) when that is
/// wider, so that a slow workload's quantised interval counts do not read as unsettled.
const BAND: f64 = 0.05;
/// Intervals are averaged over at least this long before they are compared.
const SMOOTH_S: f64 = 2.0;

pub fn settling(rows: &[TimelineRow]) -> Option<Settling> {
    let last = rows.last()?;
    let durs: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.t_s - if i == 0 { 0.0 } else { rows[i - 1].t_s }).max(0.0))
        .collect();
    let total: f64 = durs.iter().sum();
    let mean_threads = if total > 0.0 {
        rows.iter().zip(&durs).map(|(r, d)| f64::from(r.threads) * d).sum::<f64>() / total
    } else {
        f64::from(last.threads)
    };
    // Running sums of tasks and time, so that any span of intervals costs two lookups
    // (a long run has thousands of intervals, and every one opens a smoothing window).
    let mut cum = vec![(0.0, 0.0); rows.len() + 1];
    for (k, (r, d)) in rows.iter().zip(&durs).enumerate() {
        cum[k + 1] = (cum[k].0 + r.tps * d, cum[k].1 + d);
    }
    // Tasks and time of intervals from..to.
    let span = |from: usize, to: usize| (cum[to].0 - cum[from].0, cum[to].1 - cum[from].1);
    let tail = rows.len() - rows.len().div_ceil(4);
    let (n_tail, t_tail) = span(tail, rows.len());
    let final_tps = if t_tail > 0.0 { n_tail / t_tail } else { last.tps };
    // The earliest index from which every smoothed window is inside the band.
    let mut first = rows.len() - 1;
    for i in (0..rows.len()).rev() {
        let mut j = i + 1;
        while j < rows.len() && span(i, j).1 < SMOOTH_S {
            j += 1;
        }
        // Near the end, the last SMOOTH_S of the run: a window never shrinks to a few
        // intervals just because the run ends.
        let mut k = i;
        while k > 0 && span(k, j).1 < SMOOTH_S {
            k -= 1;
        }
        let (n, t) = span(k, j);
        let tps = if t > 0.0 { n / t } else { rows[i].tps };
        let band = BAND.max(1.0 / n.max(1.0).sqrt());
        if (tps - final_tps).abs() <= band * final_tps.max(1e-9) {
            first = i;
        } else {
            break;
        }
    }
    let settle_s = if first == 0 { 0.0 } else { rows[first - 1].t_s };
    // The steady window starts at settling or at half-time, whichever is later, but no later
    // than the last quarter: a run that only settled in its last intervals (a probe that
    // ended just before the deadline) is judged on its last quarter, not on one interval
    // (after a shrink from 189 to 84 threads, one 0.25 s interval of a rag-pipeline run
    // counted 552 TPS where no pool exceeds 340). A run whose queue was empty at the end of
    // any interval of its second half drained a batch or kept up with its arrivals (a closed
    // loop always has tasks waiting): its throughput is set by the work offered, and the
    // steady state is the whole window, the one fixed pools are measured over. A part of it
    // would count that part's arrivals (bursty-gateway's second half: 363 TPS against the
    // 409 every pool, this one too, served over the whole window).
    let half = rows.iter().position(|r| r.t_s > last.t_s / 2.0).unwrap_or(0);
    let kept_up = rows[half..].iter().any(|r| r.queue_len == 0);
    let from = if kept_up { 0 } else { first.max(half).min(tail) };
    let (done, time) = span(from, rows.len());
    // Interval `from` began where the one before it ended.
    let steady_from_s = if from == 0 { 0.0 } else { rows[from - 1].t_s };
    Some(Settling {
        final_threads: last.target,
        mean_threads,
        vetoes: last.vetoes,
        settle_s,
        steady_tps: if time > 0.0 { done / time } else { final_tps },
        steady_from_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t_s: f64, threads: u32, tps: f64) -> TimelineRow {
        TimelineRow {
            t_s,
            threads,
            tps,
            beta: None,
            beta_ewma: None,
            lock_wait_frac: None,
            runq_wait_frac: None,
            queue_len: 10,
            cpu_util: 0.0,
            decision: "hold".into(),
            target: threads,
            vetoes: 2,
            memory_frac: None,
        }
    }

    #[test]
    fn settles_when_throughput_enters_the_band_for_good() {
        // Ramp 100 -> 400 -> 1000, then 1000 +- 2 % for the rest.
        let rows = vec![
            row(0.5, 4, 100.0),
            row(1.0, 8, 400.0),
            row(1.5, 16, 1000.0),
            row(2.0, 16, 980.0),
            row(2.5, 16, 1020.0),
            row(3.0, 16, 1000.0),
            row(3.5, 16, 990.0),
            row(4.0, 16, 1010.0),
        ];
        let s = settling(&rows).unwrap();
        assert_eq!(s.settle_s, 1.0);
        // Settled at 1.0 s; the steady state is the second half: 1020, 1000, 990, 1010,
        // the intervals ending at 2.5..4.0 s, so it starts at 2.0 s.
        assert!((s.steady_tps - 1005.0).abs() < 1e-9, "{}", s.steady_tps);
        assert_eq!(s.steady_from_s, 2.0);
        assert_eq!(s.final_threads, 16);
        assert_eq!(s.vetoes, 2);
        // (4 + 8) * 0.5 + 16 * 3.0 over 4 s.
        assert!((s.mean_threads - 13.5).abs() < 1e-9);
        assert!(settling(&[]).is_none());
    }

    #[test]
    fn quantised_counts_of_a_slow_workload_are_settled() {
        // ~85 TPS in 0.25 s intervals: 20, 22, 21, 23 tasks (+-5 % and more per interval).
        let mut rows = vec![row(0.25, 4, 10.0), row(0.5, 6, 30.0)];
        let counts = [20.0, 22.0, 21.0, 23.0, 19.0, 22.0, 24.0, 20.0];
        for k in 0..64 {
            rows.push(row(0.75 + 0.25 * k as f64, 9, counts[k % 8] * 4.0));
        }
        let s = settling(&rows).unwrap();
        assert!(s.settle_s <= 0.5, "settled at {} s", s.settle_s);
        assert!((s.steady_tps - 85.5).abs() < 1.0, "{}", s.steady_tps);
    }

    #[test]
    fn a_short_dip_at_the_very_end_is_not_the_steady_state() {
        // 12 s at ~28 000 TPS in 0.25 s intervals, the last three ~7 % lower.
        let mut rows: Vec<TimelineRow> = (0..45).map(|k| row(0.25 * (k + 1) as f64, 11, 28_000.0 + 300.0 * ((k % 3) as f64 - 1.0))).collect();
        for k in 45..48 {
            rows.push(row(0.25 * (k + 1) as f64, 11, 26_000.0));
        }
        let s = settling(&rows).unwrap();
        assert!(s.steady_tps > 27_500.0, "{}", s.steady_tps);
    }

    #[test]
    fn a_run_that_settles_in_its_last_interval_is_judged_on_its_last_quarter() {
        // 40 intervals near 330 TPS with swings, then one burst of 550 as the pool shrinks.
        let mut rows: Vec<TimelineRow> =
            (0..40).map(|k| row(0.25 * (k + 1) as f64, 126, if k % 2 == 0 { 380.0 } else { 280.0 })).collect();
        rows.push(row(10.25, 84, 550.0));
        let s = settling(&rows).unwrap();
        // The last quarter: 11 of the 41 intervals, 10 alternating 380/280, then the burst.
        let expect = (5.0 * 380.0 + 5.0 * 280.0 + 550.0) / 11.0;
        assert!((s.steady_tps - expect).abs() < 1e-6, "{} vs {expect}", s.steady_tps);
        assert_eq!(s.steady_from_s, 7.5);
    }

    #[test]
    fn a_drained_run_has_the_whole_window_as_steady_state() {
        // A batch of bursts: fast while work waits, then the pool drains an empty queue.
        let mut rows = vec![row(0.5, 8, 400.0), row(1.0, 16, 400.0), row(1.5, 16, 100.0)];
        rows[2].queue_len = 0;
        let s = settling(&rows).unwrap();
        assert!((s.steady_tps - 300.0).abs() < 1e-9, "{}", s.steady_tps);
        assert_eq!(s.steady_from_s, 0.0);
    }

    #[test]
    fn an_open_loop_that_keeps_up_is_judged_on_the_whole_window() {
        // Bursts: 500 TPS while one is served, 100 between, the queue empty now and then in
        // the second half; more arrived in the first half than in the second.
        let mut rows: Vec<TimelineRow> =
            (1..=8).map(|i| row(f64::from(i), 32, if i <= 4 || i % 2 == 1 { 500.0 } else { 100.0 })).collect();
        rows[5].queue_len = 0;
        let s = settling(&rows).unwrap();
        let all = (6.0 * 500.0 + 2.0 * 100.0) / 8.0;
        assert!((s.steady_tps - all).abs() < 1e-9, "{} vs {all}", s.steady_tps);
        assert_eq!(s.steady_from_s, 0.0);
        // The same with tasks always waiting (a closed loop): the second half only.
        rows[5].queue_len = 10;
        let s = settling(&rows).unwrap();
        assert!(s.steady_from_s >= 4.0, "{}", s.steady_from_s);
        assert!((s.steady_tps - all).abs() > 1.0, "{}", s.steady_tps);
    }

    #[test]
    fn a_late_dip_moves_the_settling_point() {
        let rows = vec![row(1.0, 4, 500.0), row(2.0, 4, 100.0), row(3.0, 4, 500.0), row(4.0, 4, 500.0)];
        assert_eq!(settling(&rows).unwrap().settle_s, 2.0);
    }
}

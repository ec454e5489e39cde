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
}

/// Summary of a timeline for the points.csv row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settling {
    pub final_threads: u32,
    /// Time-weighted mean pool size.
    pub mean_threads: f64,
    pub vetoes: u32,
    /// Start of the first interval from which throughput stays within 5 % of the final
    /// throughput (the mean of the last quarter of the intervals).
    pub settle_s: f64,
    /// Throughput after settling: the steady-state TPS.
    pub steady_tps: f64,
}

/// How far from the final throughput an interval may be and still count as settled.
const BAND: f64 = 0.05;

pub fn settling(rows: &[TimelineRow]) -> Option<Settling> {
    let last = rows.last()?;
    let dur = |r: &TimelineRow, i: usize| {
        let start = if i == 0 { 0.0 } else { rows[i - 1].t_s };
        (r.t_s - start).max(0.0)
    };
    let total: f64 = rows.iter().enumerate().map(|(i, r)| dur(r, i)).sum();
    let mean_threads = if total > 0.0 {
        rows.iter().enumerate().map(|(i, r)| f64::from(r.threads) * dur(r, i)).sum::<f64>() / total
    } else {
        f64::from(last.threads)
    };
    let tail = &rows[rows.len() - rows.len().div_ceil(4)..];
    let final_tps = tail.iter().map(|r| r.tps).sum::<f64>() / tail.len() as f64;
    // The earliest index after which every interval is inside the band.
    let mut first = rows.len() - 1;
    for i in (0..rows.len()).rev() {
        if (rows[i].tps - final_tps).abs() <= BAND * final_tps.max(1e-9) {
            first = i;
        } else {
            break;
        }
    }
    let settle_s = if first == 0 { 0.0 } else { rows[first - 1].t_s };
    let (done, time) = rows[first..]
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(n, t), (k, r)| {
            let d = dur(r, first + k);
            (n + r.tps * d, t + d)
        });
    Some(Settling {
        final_threads: last.target,
        mean_threads,
        vetoes: last.vetoes,
        settle_s,
        steady_tps: if time > 0.0 { done / time } else { final_tps },
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
            queue_len: 0,
            cpu_util: 0.0,
            decision: "hold".into(),
            target: threads,
            vetoes: 2,
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
        assert!((s.steady_tps - 1000.0).abs() < 1.0, "{}", s.steady_tps);
        assert_eq!(s.final_threads, 16);
        assert_eq!(s.vetoes, 2);
        // (4 + 8) * 0.5 + 16 * 3.0 over 4 s.
        assert!((s.mean_threads - 13.5).abs() < 1e-9);
        assert!(settling(&[]).is_none());
    }

    #[test]
    fn a_late_dip_moves_the_settling_point() {
        let rows = vec![row(1.0, 4, 500.0), row(2.0, 4, 100.0), row(3.0, 4, 500.0), row(4.0, 4, 500.0)];
        assert_eq!(settling(&rows).unwrap().settle_s, 2.0);
    }
}

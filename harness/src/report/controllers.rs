//! The elastic pools side by side against the optimum: one row per device, runtime and
//! workload with a cell per controller, and a summary per controller against our target
//! (at least 98 % of the best fixed pool with a P99 no worse than 1.2x its P99).

use std::collections::BTreeMap;

use super::aggregate::{Efficiency, FIXED, LEVEL};
use super::hindsight::Hindsight;
use super::stats::{self, RelVar, Summary};
use super::tables::{optimum_cell, ratio, ratio_of, Table};
use crate::measure::BATCHES;

/// The elastic pools with their default parameters, in the order shown. Variants with other
/// parameters (a sensitivity sweep) are in the efficiency table only.
pub(super) const CONTROLLERS: [&str; 4] = ["adaptive", "adaptive-paper", "adaptive-betapool", "queue-scaler"];
/// The sweep's best fixed N measured again beside `adaptive` (listed after it): a second
/// reference, taken at nearly the same time and free of the sweep maximum's winner's curse.
const PAIRED: &str = "fixed-best";
const TARGET_ETA: f64 = 0.98;
const TARGET_P99: f64 = 1.2;

type Cell<'a> = (&'a str, &'a str, &'a str);

type Cells<'a> = BTreeMap<Cell<'a>, BTreeMap<&'a str, &'a Efficiency<'a>>>;

/// Efficiencies of the default-parameter elastic pools by (device, runtime, workload).
fn by_cell<'a>(effs: &'a [Efficiency<'a>]) -> Cells<'a> {
    let mut out: Cells = BTreeMap::new();
    for e in effs {
        let g = &e.agg.group;
        if let Some(&name) = CONTROLLERS.iter().chain(&[PAIRED]).find(|&&c| c == g.strategy) {
            out.entry((&g.device, &g.runtime, &g.workload)).or_default().insert(name, e);
        }
    }
    out
}

/// Relative noise of single runs by (workload, strategy).
type Noise<'a> = BTreeMap<(&'a str, &'a str), RelVar>;

/// Between-repetition noise pooled over the cells (devices, runtimes) of the table: the best
/// fixed pools under "fixed", each controller under its name. Two repetitions give one
/// degree of freedom per point, and a 95 % t interval on one degree of freedom is +-12.7
/// standard errors; pooled over four cells it is +-2.8. Assumes a strategy's relative noise
/// on a workload is alike across devices and runtimes.
fn noise<'a>(cells: &Cells<'a>) -> Noise<'a> {
    let mut by: BTreeMap<(&str, &str), Vec<RelVar>> = BTreeMap::new();
    for (&(_, _, w), m) in cells {
        if let Some(e) = m.values().next() {
            by.entry((w, FIXED)).or_default().extend(e.optimum.tps.as_ref().and_then(RelVar::of));
        }
        for (&c, e) in m {
            by.entry((w, c)).or_default().extend(e.agg.steady.as_ref().and_then(RelVar::of));
        }
    }
    by.into_iter().filter_map(|(k, v)| Some((k, RelVar::pooled(v)?))).collect()
}

/// One side of a comparison: a mean over repetitions, the single run's batches (when it ran
/// once), and the name its noise is pooled under.
type Side<'a> = (Option<Summary>, Option<Summary>, &'a str);

/// The interval of `mine`'s mean against `base`'s over repetitions, with their noise pooled
/// (`noise`), or, where both sides ran once, over each run's own batches; None otherwise.
fn interval(workload: &str, base: Side, mine: Side, noise: &Noise) -> Option<(f64, f64)> {
    let ((b, b_batches, b_name), (m, m_batches, m_name)) = (base, mine);
    let (b, m) = (b?, m?);
    if b.n >= 2 && m.n >= 2 {
        let of = |s: &str| noise.get(&(workload, s)).copied();
        stats::ratio_interval((&b, of(b_name)?), (&m, of(m_name)?), LEVEL)
    } else {
        stats::ratio(&b_batches?, &m_batches?, LEVEL)?.1
    }
}

/// A pool's steady TPS as one side of a comparison.
fn steady<'a>(e: &'a Efficiency) -> Side<'a> {
    (e.agg.steady, e.agg.steady_batches, &e.agg.group.strategy)
}

/// The interval of eta (steady TPS against the best fixed pool's TPS).
fn eta_interval(e: &Efficiency, noise: &Noise) -> Option<(f64, f64)> {
    let opt = (e.optimum.tps, e.optimum.steady_batches, FIXED);
    interval(&e.agg.group.workload, opt, steady(e), noise)
}

/// Whether `adaptive`'s steady TPS is below `other`'s beyond the noise (the interval of
/// their ratio wholly below 1); None without an interval.
fn behind(adaptive: &Efficiency, other: &Efficiency, noise: &Noise) -> Option<bool> {
    interval(&adaptive.agg.group.workload, steady(other), steady(adaptive), noise).map(|(_, hi)| hi < 1.0)
}

/// One pool's standing in one cell, whatever sized it.
struct Score {
    eta: f64,
    /// P99 over the steady window relative to the best fixed pool's P99.
    p99_x: Option<f64>,
    interval: Option<(f64, f64)>,
}

impl Score {
    fn of(e: &Efficiency, noise: &Noise) -> Score {
        let p99_x = ratio_of(e.agg.p99_steady_max_ms, e.optimum.p99_max_ms);
        Score { eta: e.eta, p99_x, interval: eta_interval(e, noise) }
    }

    fn of_hindsight(h: &Hindsight) -> Score {
        Score { eta: h.eta, p99_x: h.p99_x, interval: None }
    }

    /// `adaptive` against the cell's `fixed-best` point instead of the sweep's best: steady
    /// TPS over its TPS, steady P99 over its P99.
    fn paired(m: &BTreeMap<&str, &Efficiency>, noise: &Noise) -> Option<Score> {
        let (a, f) = (m.get(CONTROLLERS[0])?, m.get(PAIRED)?);
        let base = f.agg.steady.map(|s| s.mean).filter(|&b| b > 0.0)?;
        Some(Score {
            eta: a.agg.steady?.mean / base,
            p99_x: ratio_of(a.agg.p99_steady_max_ms, f.agg.p99_max_ms),
            interval: interval(&a.agg.group.workload, steady(f), steady(a), noise),
        })
    }
}

/// The columns and summary lines of `fixed-best`, when the run has it.
const PAIRED_ETA: &str = "fixed-best: eta (N)";
const PAIRED_ADAPTIVE: &str = "adaptive against fixed-best";
const PAIRED_NOTE: &str = " 'fixed-best': the best fixed pool's N measured again right after adaptive, its TPS against \
    the sweep's best (the N picked); 'adaptive against fixed-best': adaptive's steady TPS against that point's TPS \
    [interval] / its steady P99 against that point's P99: a reference measured beside the controller in time, \
    where the sweep's best ran minutes before it and is the largest of several noisy means.";

fn interval_text(i: Option<(f64, f64)>) -> String {
    i.map_or(String::new(), |(lo, hi)| format!(" [{:.1}, {:.1}]", 100.0 * lo, 100.0 * hi))
}

type Hind<'o> = BTreeMap<Cell<'o>, Hindsight>;

pub fn pivot(effs: &[Efficiency], hind: &Hind) -> Option<Table> {
    let cells = by_cell(effs);
    let noise = noise(&cells);
    let shown: Vec<&'static str> =
        CONTROLLERS.into_iter().filter(|c| cells.values().any(|m| m.contains_key(c))).collect();
    if shown.is_empty() {
        return None;
    }
    let mut header = vec!["device", "runtime", "workload", "best fixed TPS (N)"];
    header.extend(&shown);
    let has_paired = cells.values().any(|m| m.contains_key(PAIRED));
    if has_paired {
        header.extend([PAIRED_ETA, PAIRED_ADAPTIVE]);
    }
    if !hind.is_empty() {
        header.push(HINDSIGHT);
    }
    let rows = cells
        .iter()
        .map(|(cell @ (d, r, w), m)| {
            let opt = m.values().next().map(|e| e.optimum);
            let mut row = vec![d.to_string(), r.to_string(), w.to_string()];
            row.push(opt.map_or("-".into(), optimum_cell));
            row.extend(shown.iter().map(|c| match m.get(c) {
                Some(e) => format!(
                    "{:.1} %{} / {} / {}",
                    100.0 * e.eta,
                    interval_text(eta_interval(e, &noise)),
                    ratio(e.agg.p99_max_ms, e.optimum.p99_max_ms),
                    ratio(e.agg.p99_steady_max_ms, e.optimum.p99_max_ms)
                ),
                None => "-".into(),
            }));
            if has_paired {
                row.push(m.get(PAIRED).map_or("-".into(), |f| {
                    let n = f.agg.mean_threads.map_or("-".into(), |n| format!("{n:.0}"));
                    format!("{:.1} % (N {n})", 100.0 * f.eta)
                }));
                row.push(Score::paired(m, &noise).map_or("-".into(), |p| {
                    let p99 = p.p99_x.map_or("-".into(), |x| format!("{x:.2}"));
                    format!("{:.1} %{} / {p99}", 100.0 * p.eta, interval_text(p.interval))
                }));
            }
            if !hind.is_empty() {
                row.push(hind.get(cell).map_or("-".into(), |h| {
                    let picks: Vec<String> = h.picks.iter().map(u32::to_string).collect();
                    let p99 = h.p99_x.map_or("-".into(), |x| format!("{x:.2}"));
                    format!("{:.1} % / {p99} (N {})", 100.0 * h.eta, picks.join(", "))
                }));
            }
            row
        })
        .collect();
    let n = header.len();
    Some(Table {
        title: "Controllers against the optimum".into(),
        note: format!(
            "Each cell: eta (steady TPS / mean TPS of the best fixed pool) [its {:.0} % interval, as in the summary \
             below] / P99 over the whole window / P99 over the steady window, both relative to the best fixed pool's \
             P99.{}{}",
            100.0 * LEVEL,
            if has_paired { PAIRED_NOTE } else { "" },
            if hind.is_empty() { "" } else { HINDSIGHT_NOTE }
        ),
        header,
        numeric: (0..n).map(|i| i >= 3).collect(),
        rows,
    })
}

const HINDSIGHT: &str = "fixed, N from the other repetitions";
const HINDSIGHT_NOTE: &str = " 'fixed, N from the other repetitions': in each repetition, the fixed pool whose N had \
    the best mean TPS over the other repetitions, as it measured in this one: its mean TPS against the same best fixed \
    pool / its P99 against that pool's (the Ns picked). What a pool sized with hindsight scores from noise and drift \
    alone, since the reference is the largest of several noisy means.";

pub fn summary(effs: &[Efficiency], hind: &Hind) -> Option<Table> {
    let cells = by_cell(effs);
    let noise = noise(&cells);
    let scores = |c: &str| -> BTreeMap<Cell, Score> {
        cells.iter().filter_map(|(k, m)| Some((*k, Score::of(m.get(c)?, &noise)))).collect()
    };
    let adaptive = scores(CONTROLLERS[0]);
    // Cells where adaptive's steady TPS is below this controller's beyond the noise, of those
    // with an interval.
    let behind_count = |c: &str| -> String {
        let verdicts: Vec<bool> = cells
            .values()
            .filter_map(|m| behind(m.get(CONTROLLERS[0])?, m.get(c)?, &noise))
            .collect();
        if verdicts.is_empty() {
            "-".into()
        } else {
            format!("{}/{}", verdicts.iter().filter(|&&b| b).count(), verdicts.len())
        }
    };
    let mut rows: Vec<Vec<String>> = CONTROLLERS
        .iter()
        .filter_map(|&c| {
            let (mut row, behind_cells) = if c == CONTROLLERS[0] {
                (summary_row(c, &adaptive, None)?, "-".into())
            } else {
                (summary_row(c, &scores(c), Some(&adaptive))?, behind_count(c))
            };
            row.push(behind_cells);
            Some(row)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    // The references' lines: no "behind beyond noise" count.
    let reference = |name: &str, mine: &BTreeMap<Cell, Score>, against: Option<&BTreeMap<Cell, Score>>| {
        summary_row(name, mine, against).map(|mut r| {
            r.push("-".into());
            r
        })
    };
    let paired: BTreeMap<Cell, Score> = cells.iter().filter_map(|(k, m)| Some((*k, Score::paired(m, &noise)?))).collect();
    rows.extend(reference(PAIRED_ADAPTIVE, &paired, None));
    rows.extend(reference(PAIRED, &scores(PAIRED), Some(&adaptive)));
    // Over the same cells as the controllers.
    let hind: BTreeMap<Cell, Score> =
        hind.iter().filter(|(k, _)| cells.contains_key(*k)).map(|(k, h)| (*k, Score::of_hindsight(h))).collect();
    rows.extend(reference(HINDSIGHT, &hind, Some(&adaptive)));
    Some(Table {
        title: "Controllers: summary".into(),
        note: format!(
            "Over the cells of the table above. Target: eta >= {:.0} % with the steady-window P99 <= {TARGET_P99}x the \
             best fixed pool's. 'CI below 98 %': cells whose {:.0} % interval of eta lies wholly below the target \
             (over repetitions, each strategy's spread between them pooled over the devices and runtimes of a \
             workload; with one repetition, over each run's {BATCHES} batches, which can understate the error between \
             runs). 'adaptive ahead': cells where adaptive's eta is higher than this one's; 'adaptive behind beyond \
             noise': cells where the interval of adaptive's steady TPS against this one's (the same noise model) \
             lies wholly below 1.{}{}",
            100.0 * TARGET_ETA,
            100.0 * LEVEL,
            if paired.is_empty() {
                ""
            } else {
                " 'adaptive against fixed-best': the same target against the best fixed N measured again right after \
                 adaptive (eta, interval and P99 against that point); 'fixed-best': that point against the sweep's best."
            },
            if hind.is_empty() { "" } else { " The last line: the fixed pool sized on the other repetitions, the noise floor." }
        ),
        header: vec![
            "controller",
            "cells",
            "mean eta",
            "median eta",
            "min eta",
            ">= 98 %",
            ">= 98 % and steady P99 <= 1.2x",
            "CI below 98 %",
            "adaptive ahead",
            "adaptive behind beyond noise",
        ],
        numeric: vec![false, true, true, true, true, true, true, true, true, true],
        rows,
    })
}

/// One summary line over a pool's cells; `adaptive` to count the cells where it did better.
fn summary_row(name: &str, mine: &BTreeMap<Cell, Score>, adaptive: Option<&BTreeMap<Cell, Score>>) -> Option<Vec<String>> {
    if mine.is_empty() {
        return None;
    }
    let mut etas: Vec<f64> = mine.values().map(|s| s.eta).collect();
    etas.sort_by(f64::total_cmp);
    let k = etas.len();
    let median = if k % 2 == 1 { etas[k / 2] } else { (etas[k / 2 - 1] + etas[k / 2]) / 2.0 };
    let met = mine.values().filter(|s| s.eta >= TARGET_ETA).count();
    let met_p99 = mine.values().filter(|s| s.eta >= TARGET_ETA && s.p99_x.is_some_and(|x| x <= TARGET_P99)).count();
    // Cells whose whole interval (over repetitions, or a single run's batches) lies below
    // the target: misses that noise does not explain.
    let intervals: Vec<(f64, f64)> = mine.values().filter_map(|s| s.interval).collect();
    let below = if intervals.is_empty() {
        "-".to_string()
    } else {
        format!("{}/{}", intervals.iter().filter(|ci| ci.1 < TARGET_ETA).count(), intervals.len())
    };
    let ahead = adaptive.map_or("-".to_string(), |a| {
        let both: Vec<(f64, f64)> = mine.iter().filter_map(|(k, s)| Some((a.get(k)?.eta, s.eta))).collect();
        format!("{}/{}", both.iter().filter(|(a, b)| a > b).count(), both.len())
    });
    Some(vec![
        name.to_string(),
        k.to_string(),
        format!("{:.1} %", 100.0 * etas.iter().sum::<f64>() / k as f64),
        format!("{:.1} %", 100.0 * median),
        format!("{:.1} %", 100.0 * etas[0]),
        format!("{met}/{k}"),
        format!("{met_p99}/{k}"),
        below,
        ahead,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::aggregate::{aggregate, efficiencies, optima};
    use crate::report::hindsight::hindsight;
    use crate::report::summary::tests::row as fixed_row;
    use crate::results::{Row, Status};

    fn row(strategy: &str, threads: u32, tps: f64, p99: f64, steady_p99: Option<f64>) -> Row {
        let mut r = fixed_row(threads, 0, tps, Status::Ok);
        r.strategy = strategy.into();
        r.lat_p99_ms = Some(p99);
        r.lat_p99_steady_ms = steady_p99;
        r
    }

    #[test]
    fn cells_and_summary_follow_the_measurements() {
        let rows = vec![
            row("fixed", 8, 100.0, 10.0, None),
            row("fixed", 16, 90.0, 20.0, None),
            row("adaptive", 0, 99.0, 30.0, Some(11.0)),
            row("adaptive-paper", 0, 50.0, 9.0, Some(9.0)),
        ];
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let effs = efficiencies(&aggs, &opts);
        let t = pivot(&effs, &BTreeMap::new()).expect("a pivot");
        assert_eq!(t.header[3..], ["best fixed TPS (N)", "adaptive", "adaptive-paper"]);
        assert_eq!(t.rows[0][3..], ["100 (8)", "99.0 % / 3.00 / 1.10", "50.0 % / 0.90 / 0.90"]);
        let s = summary(&effs, &BTreeMap::new()).expect("a summary");
        // adaptive meets both (99 %, 1.1x steady); the paper's neither; adaptive is ahead.
        // One run each without batch errors: no interval, so nothing is behind beyond noise.
        assert_eq!(s.rows[0][5..], ["1/1", "1/1", "-", "-", "-"]);
        assert_eq!(s.rows[1][5..], ["0/1", "0/1", "-", "1/1", "-"]);
    }

    #[test]
    fn a_miss_counts_as_beyond_noise_only_when_its_interval_is_below_the_target() {
        let rep = |strategy: &str, threads: u32, tps: f64, rep: u32| {
            let mut r = row(strategy, threads, tps, 10.0, Some(10.0));
            r.rep = rep;
            r
        };
        // Fixed 8: 100 +- 1. adaptive: 95 +- 0.5, its interval wholly below 98 %. The
        // paper's: 97 on average but spread so wide that its interval straddles 98 %.
        let rows = vec![
            rep("fixed", 8, 99.0, 0),
            rep("fixed", 8, 100.0, 1),
            rep("fixed", 8, 101.0, 2),
            rep("adaptive", 0, 94.5, 0),
            rep("adaptive", 0, 95.0, 1),
            rep("adaptive", 0, 95.5, 2),
            rep("adaptive-paper", 0, 90.0, 0),
            rep("adaptive-paper", 0, 97.0, 1),
            rep("adaptive-paper", 0, 104.0, 2),
        ];
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let effs = efficiencies(&aggs, &opts);
        let hind = hindsight(&rows, &opts);
        let s = summary(&effs, &hind).expect("a summary");
        assert_eq!(s.header[7], "CI below 98 %");
        assert_eq!(s.rows[0][0], "adaptive");
        assert_eq!(s.rows[0][7], "1/1");
        assert_eq!(s.rows[1][0], "adaptive-paper");
        assert_eq!(s.rows[1][7], "0/1");
        // adaptive 95 against the paper's 97 +- 7: within the noise.
        assert_eq!(s.rows[1][9], "0/1");
        // Fixed 8 is the only N, so each repetition's hindsight pick is 8: 100 % against
        // its own mean, met, and adaptive (95 %) is not ahead of it.
        assert_eq!(s.rows[2][0], HINDSIGHT);
        assert_eq!(s.rows[2][4..], ["100.0 %", "1/1", "1/1", "-", "0/1", "-"]);
        let t = pivot(&effs, &hind).expect("a pivot");
        assert_eq!(t.header.last(), Some(&HINDSIGHT));
        assert_eq!(t.rows[0].last().map(String::as_str), Some("100.0 % / 1.00 (N 8, 8, 8)"));
    }

    #[test]
    fn two_repetitions_pool_their_noise_over_devices_and_runtimes() {
        // Four cells, two repetitions each: fixed 8 reads 99 and 101, adaptive 94.5 and 95.5 (the
        // paper's controller 99.5 and 100.5).
        // On its own one degree of freedom a cell's interval would reach past 98 % ([88.8,
        // 101.6] %); pooled over the four cells it lies wholly below ([92.4, 97.7] %; both
        // by mpmath, independently of this code).
        let mut rows = Vec::new();
        for device in ["edge-1c", "edge-2c"] {
            for runtime in ["gil", "free-threaded"] {
                let pools = [("fixed", 8, [99.0, 101.0]), ("adaptive", 0, [94.5, 95.5]), ("adaptive-paper", 0, [99.5, 100.5])];
                for (strategy, threads, tps) in pools {
                    for (rep, t) in tps.into_iter().enumerate() {
                        let mut r = row(strategy, threads, t, 10.0, Some(10.0));
                        (r.device, r.runtime, r.rep) = (device.into(), runtime.into(), rep as u32);
                        rows.push(r);
                    }
                }
            }
        }
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let effs = efficiencies(&aggs, &opts);
        let s = summary(&effs, &BTreeMap::new()).expect("a summary");
        assert_eq!((s.rows[0][0].as_str(), s.rows[0][7].as_str()), ("adaptive", "4/4"));
        // The paper's 100 against adaptive's 95, both +- 0.5: behind beyond the noise in every
        // cell (the ratio's interval is about [0.93, 0.97]).
        assert_eq!(s.rows[1][0], "adaptive-paper");
        assert_eq!(s.rows[1][8..], ["0/4", "4/4"]);
        let t = pivot(&effs, &BTreeMap::new()).expect("a pivot");
        assert!(t.rows[0][4].starts_with("95.0 % [92.4, 97.7]"), "{}", t.rows[0][4]);
    }

    #[test]
    fn with_one_repetition_the_runs_own_batches_give_the_interval() {
        let one = |strategy: &str, threads: u32, tps: f64, se: f64| {
            let mut r = row(strategy, threads, tps, 10.0, Some(10.0));
            r.tps_se = Some(se);
            r
        };
        // adaptive 95 against 100, both +- 0.5: wholly below 98 %. The paper's 97 +- 3:
        // the interval reaches past 98 %.
        let rows = vec![one("fixed", 8, 100.0, 0.5), one("adaptive", 0, 95.0, 0.5), one("adaptive-paper", 0, 97.0, 3.0)];
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let effs = efficiencies(&aggs, &opts);
        let s = summary(&effs, &BTreeMap::new()).expect("a summary");
        let t = pivot(&effs, &BTreeMap::new()).expect("a pivot");
        assert!(t.rows[0][4].starts_with("95.0 % [93."), "{}", t.rows[0][4]);
        assert!(t.rows[0][4].ends_with("] / 1.00 / 1.00"), "{}", t.rows[0][4]);
        assert_eq!((s.rows[0][0].as_str(), s.rows[0][7].as_str()), ("adaptive", "1/1"));
        assert_eq!((s.rows[1][0].as_str(), s.rows[1][7].as_str()), ("adaptive-paper", "0/1"));
    }

    #[test]
    fn fixed_best_is_a_second_reference_beside_adaptive() {
        let one = |strategy: &str, threads: u32, tps: f64, p99: f64, steady_p99: Option<f64>| {
            let mut r = row(strategy, threads, tps, p99, steady_p99);
            r.tps_se = Some(0.5);
            r
        };
        // The sweep's best, fixed 8, read 100; measured again beside adaptive it read 94, and
        // adaptive 95: 95 % of the sweep's best (a miss) but 101 % of the pool beside it.
        let mut best = one("fixed-best", 0, 94.0, 8.0, None);
        best.mean_threads = Some(8.0);
        let rows = vec![
            one("fixed", 8, 100.0, 10.0, None),
            one("fixed", 16, 90.0, 20.0, None),
            one("adaptive", 0, 95.0, 12.0, Some(10.0)),
            best,
        ];
        let aggs = aggregate(&rows);
        let opts = optima(&aggs);
        let effs = efficiencies(&aggs, &opts);
        let t = pivot(&effs, &BTreeMap::new()).expect("a pivot");
        assert_eq!(t.header[3..], ["best fixed TPS (N)", "adaptive", PAIRED_ETA, PAIRED_ADAPTIVE]);
        assert_eq!(t.rows[0][5], "94.0 % (N 8)");
        // Its interval from both runs' batches straddles 100 %; P99 10 against 8.
        assert!(t.rows[0][6].starts_with("101.1 % [") && t.rows[0][6].ends_with("] / 1.25"), "{}", t.rows[0][6]);
        let s = summary(&effs, &BTreeMap::new()).expect("a summary");
        let line = |name: &str| s.rows.iter().find(|r| r[0] == name).cloned().expect(name);
        // Against the sweep's best: missed, and its interval lies below 98 %.
        assert_eq!(line("adaptive")[5..8], ["0/1", "0/1", "1/1"]);
        // Against fixed-best: >= 98 %, but its P99 is 1.25x; the interval reaches past 98 %.
        assert_eq!(line(PAIRED_ADAPTIVE)[5..], ["1/1", "0/1", "0/1", "-", "-"]);
        // fixed-best itself against the sweep's best, and adaptive ahead of it.
        assert_eq!(line(PAIRED)[2..9], ["94.0 %", "94.0 %", "94.0 %", "0/1", "0/1", "1/1", "1/1"]);
    }
}

//! `gilbench compare`: two or more result sets (folders, CSV files, or one set split by a
//! column such as runtime), matched point by point. Each changed side against the first,
//! as pyperf's compare_to: ratio of mean TPS with its 95 % interval, Welch's t-test,
//! "1.41x faster" or "not significant"; points on one side only are listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::aggregate::{aggregate, curves, Agg, Group, LEVEL};
use super::figures::curves::{Line, Panel};
use super::figures::sweep::{over_threads, series, Metric};
use super::figures::{render, slug, Rendered};
use super::load::Dataset;
use super::stats::{ratio, welch, Summary, Welch};
use super::tables::{threads, Table};
use crate::results::Row;

/// Differences with p below this are called significant.
pub const ALPHA: f64 = 0.05;

/// The columns a single result set can be split by.
pub const BY_COLUMNS: [&str; 5] = ["runtime", "scenario", "device", "workload", "strategy"];

/// One side of a comparison: its label and its points (the split column blanked, so that
/// points of different sides match).
pub struct Side {
    pub label: String,
    pub aggs: Vec<Agg>,
}

fn column<'a>(r: &'a mut Row, by: &str) -> Option<&'a mut String> {
    match by {
        "runtime" => Some(&mut r.runtime),
        "scenario" => Some(&mut r.scenario),
        "device" => Some(&mut r.device),
        "workload" => Some(&mut r.workload),
        "strategy" => Some(&mut r.strategy),
        _ => None,
    }
}

/// The sides: one per input, or, with `by`, one per value of that column over all inputs.
pub fn sides(inputs: &[PathBuf], by: Option<&str>) -> anyhow::Result<Vec<Side>> {
    let sets = inputs.iter().map(|p| Dataset::load(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let sides: Vec<(String, Vec<Row>)> = match by {
        None => {
            if sets.len() < 2 {
                anyhow::bail!("compare needs two result sets, or one split with --by {}", BY_COLUMNS.join("|"));
            }
            let mut labels: Vec<String> = sets.iter().map(|d| d.label.clone()).collect();
            if labels.iter().collect::<BTreeSet<_>>().len() < labels.len() {
                // Same folder names (e.g. two `quick` runs): number them so legends differ.
                labels = labels.iter().enumerate().map(|(i, l)| format!("{}:{l}", i + 1)).collect();
            }
            labels.into_iter().zip(sets.into_iter().map(|d| d.rows)).collect()
        }
        Some(by) => {
            // Sides in order of first appearance, so the scenario's first runtime is the reference.
            let mut split: Vec<(String, Vec<Row>)> = Vec::new();
            for mut r in sets.into_iter().flat_map(|d| d.rows) {
                let col = column(&mut r, by)
                    .ok_or_else(|| anyhow::anyhow!("--by {by}: expected one of {}", BY_COLUMNS.join(", ")))?;
                let value = std::mem::take(col);
                match split.iter_mut().find(|(v, _)| *v == value) {
                    Some((_, rows)) => rows.push(r),
                    None => split.push((value, vec![r])),
                }
            }
            if split.len() < 2 {
                anyhow::bail!("--by {by}: the data has only one {by} ({}), nothing to compare", split.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", "));
            }
            split
        }
    };
    Ok(sides.into_iter().map(|(label, rows)| Side { label, aggs: aggregate(&rows) }).collect())
}

/// Puts the side labelled `reference` first (the one the others are compared against); the
/// others keep their order.
pub fn with_reference(mut sides: Vec<Side>, reference: &str) -> anyhow::Result<Vec<Side>> {
    let Some(i) = sides.iter().position(|s| s.label == reference) else {
        let labels: Vec<&str> = sides.iter().map(|s| s.label.as_str()).collect();
        anyhow::bail!("--reference {reference}: no such side; the sides are {}", labels.join(", "));
    };
    let first = sides.remove(i);
    sides.insert(0, first);
    Ok(sides)
}

/// One matched point.
#[derive(Debug, Clone)]
pub struct Matched {
    pub group: Group,
    pub a: Summary,
    pub b: Summary,
    /// b / a of the mean (steady) TPS, with its 95 % interval when both sides are repeated.
    pub ratio: f64,
    pub ci: Option<(f64, f64)>,
    pub welch: Option<Welch>,
}

impl Matched {
    /// pyperf's words: "1.41x faster", "1.07x slower", "not significant (p = 0.31)".
    pub fn verdict(&self) -> String {
        let size = if self.ratio >= 1.0 { format!("{:.2}x faster", self.ratio) } else { format!("{:.2}x slower", 1.0 / self.ratio) };
        match self.welch {
            None => format!("{size} (significance unknown: {} vs {} reps)", self.a.n, self.b.n),
            Some(w) if w.p < ALPHA => format!("{size} (p = {})", fmt_p(w.p)),
            Some(w) => format!("not significant (p = {}, {size})", fmt_p(w.p)),
        }
    }
}

fn fmt_p(p: f64) -> String {
    if p < 0.001 { format!("{p:.1e}") } else { format!("{p:.3}") }
}

pub struct Comparison {
    pub reference: String,
    pub changed: String,
    pub by: Option<String>,
    pub matched: Vec<Matched>,
    /// On both sides, but with no ok repetition (or no TPS above zero) on at least one.
    pub no_ok: Vec<Group>,
    pub only_reference: Vec<Group>,
    pub only_changed: Vec<Group>,
}

pub fn compare(a: &Side, b: &Side, by: Option<&str>) -> Comparison {
    let index = |s: &Side| s.aggs.iter().map(|x| (x.group.clone(), x.steady)).collect::<BTreeMap<Group, Option<Summary>>>();
    let (ia, ib) = (index(a), index(b));
    let mut matched = Vec::new();
    let mut no_ok = Vec::new();
    for (g, sa) in &ia {
        let Some(sb) = ib.get(g) else { continue };
        match (sa, sb) {
            (Some(sa), Some(sb)) => match ratio(sa, sb, LEVEL) {
                Some((r, ci)) => matched.push(Matched { group: g.clone(), a: *sa, b: *sb, ratio: r, ci, welch: welch(sa, sb) }),
                None => no_ok.push(g.clone()),
            },
            _ => no_ok.push(g.clone()),
        }
    }
    Comparison {
        reference: a.label.clone(),
        changed: b.label.clone(),
        by: by.map(str::to_string),
        matched,
        no_ok,
        only_reference: ia.keys().filter(|g| !ib.contains_key(*g)).cloned().collect(),
        only_changed: ib.keys().filter(|g| !ia.contains_key(*g)).cloned().collect(),
    }
}

fn mean_sd(s: &Summary) -> String {
    if s.n > 1 { format!("{:.0} +- {:.0}", s.mean, s.sd) } else { format!("{:.0}", s.mean) }
}

/// The point columns without the split one (blank on every side).
fn dims(by: Option<&str>) -> Vec<&'static str> {
    ["device", "runtime", "workload", "strategy"].into_iter().filter(|d| Some(*d) != by).collect()
}

fn dim_values(g: &Group, by: Option<&str>) -> Vec<String> {
    let all = [("device", &g.device), ("runtime", &g.runtime), ("workload", &g.workload), ("strategy", &g.strategy)];
    all.iter().filter(|(d, _)| Some(*d) != by).map(|(_, v)| v.to_string()).chain([threads(g.threads)]).collect()
}

pub fn table(c: &Comparison) -> Table {
    let by = c.by.as_deref();
    let mut header = dims(by);
    header.extend(["N", "reference TPS", "changed TPS", "changed / reference [95 % CI]", "verdict"]);
    let n = header.len();
    let rows = c
        .matched
        .iter()
        .map(|m| {
            let mut r = dim_values(&m.group, by);
            r.push(mean_sd(&m.a));
            r.push(mean_sd(&m.b));
            r.push(match m.ci {
                Some((lo, hi)) => format!("{:.2} [{lo:.2}, {hi:.2}]", m.ratio),
                None => format!("{:.2}", m.ratio),
            });
            r.push(m.verdict());
            r
        })
        .collect();
    Table {
        title: format!("{} (reference) -> {} (changed)", c.reference, c.changed),
        note: format!(
            "Mean TPS (steady TPS for elastic pools) +- standard deviation over repetitions; ratio interval by the delta method on the log ratio; Welch's t-test, significant when p < {ALPHA}."
        ),
        numeric: (0..n).map(|i| i >= n - 5 && i < n - 1).collect(),
        header,
        rows,
    }
}

/// The comparison as text: the table, the geometric mean, the unmatched points.
pub fn text(c: &Comparison) -> String {
    let mut s = super::markdown::table(&table(c));
    let logs: Vec<f64> = c.matched.iter().map(|m| m.ratio.ln()).collect();
    if !logs.is_empty() {
        let g = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        let sig = c.matched.iter().filter(|m| m.welch.is_some_and(|w| w.p < ALPHA)).count();
        let testable = c.matched.iter().filter(|m| m.welch.is_some()).count();
        s.push_str(&format!(
            "\nGeometric mean over {} matched points: {} ({} of {} testable differences significant; {} points with a single repetition on a side cannot be tested)\n",
            logs.len(),
            if g >= 1.0 { format!("{g:.2}x faster") } else { format!("{:.2}x slower", 1.0 / g) },
            sig,
            testable,
            c.matched.len() - testable
        ));
    } else {
        s.push_str("\nNo point is in both sets.\n");
    }
    let only_ref = format!("Only in {}", c.reference);
    let only_changed = format!("Only in {}", c.changed);
    let lists = [(only_ref.as_str(), &c.only_reference), (only_changed.as_str(), &c.only_changed), ("In both but without an ok repetition with TPS on a side", &c.no_ok)];
    for (what, only) in lists {
        if !only.is_empty() {
            s.push_str(&format!("\n{what} ({} points, not compared):\n", only.len()));
            for g in only {
                s.push_str(&format!("  {}\n", dim_values(g, c.by.as_deref()).join(" / ")));
            }
        }
    }
    s
}

/// Overlays of every side's curves: TPS (the cliff) and TPS per thread, one figure per
/// workload, one panel per device.
pub fn overlays(sides: &[Side], by: Option<&str>, out: &Path) -> anyhow::Result<Vec<Rendered>> {
    std::fs::create_dir_all(out)?;
    // (workload, device) -> (legend label, side index, points).
    type Curve<'a> = (String, usize, Vec<&'a Agg>);
    let mut panels: BTreeMap<(String, String), Vec<Curve>> = BTreeMap::new();
    for (i, side) in sides.iter().enumerate() {
        for ((d, r, w, s), pts) in curves(&side.aggs) {
            let rest: Vec<&str> = [("runtime", r.as_str()), ("strategy", s.as_str())]
                .into_iter()
                .filter(|(k, v)| Some(*k) != by && !v.is_empty() && *v != "fixed")
                .map(|(_, v)| v)
                .collect();
            let label = if rest.is_empty() { side.label.clone() } else { format!("{} {}", side.label, rest.join(" ")) };
            panels.entry((w, d)).or_default().push((label, i, pts));
        }
    }
    let workloads: BTreeSet<&str> = panels.keys().map(|k| k.0.as_str()).collect();
    let mut figs = Vec::new();
    for metric in [Metric::Tps, Metric::PerThread] {
        for w in &workloads {
            let ps: Vec<Panel> = panels
                .iter()
                .filter(|((pw, _), _)| pw == w)
                .map(|((_, d), ss)| Panel {
                    title: format!("{w} on {d}"),
                    series: ss
                        .iter()
                        .enumerate()
                        .map(|(k, (label, side, pts))| {
                            // Colour by position in the panel; dashed for the changed sides.
                            series(pts, metric, label.clone(), k, if *side == 0 { Line::Solid } else { Line::Dashed })
                        })
                        .collect(),
                    y_desc: None,
                })
                .collect();
            let what = if metric == Metric::Tps { "cliff" } else { "per-thread" };
            let chart = over_threads(format!("{what}: {} (solid: reference {})", w, sides[0].label), ps, metric);
            let caption = format!("{} of {w}, every side overlaid.", metric.y_desc());
            figs.push(render(out, &format!("compare-{what}-{}", slug(w)), &chart.title, &caption, &chart)?);
        }
    }
    Ok(figs)
}

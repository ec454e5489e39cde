//! Figures over the thread sweep: the saturation cliff (TPS with the pure-I/O control), P99,
//! per-thread efficiency, TPS against memory, and the beta-threshold sensitivity.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::prelude::SeriesLabelPosition;

use super::curves::{Curves, Line, Panel, Pt, Series, XAxis};
use super::{render, slug, Outcome};
use crate::report::aggregate::{curves, Agg, CONTROL, LEVEL};

/// What a sweep figure plots for each point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Tps,
    P99,
    PerThread,
}

impl Metric {
    pub fn y_desc(self) -> &'static str {
        match self {
            Metric::Tps => "throughput (tasks/s)",
            Metric::P99 => "P99 task latency (ms)",
            Metric::PerThread => "TPS per thread (tasks/s/thread)",
        }
    }

    /// Thread sweeps leave the lower right empty (the cliff falls, P99 rises), except per
    /// thread, where every curve ends low.
    pub fn legend(self) -> SeriesLabelPosition {
        if self == Metric::PerThread { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight }
    }

    /// The value and its 95 % interval at one point.
    fn value(self, a: &Agg) -> Option<Pt> {
        let x = a.group.threads as f64;
        let tps = a.tps?;
        match self {
            Metric::Tps => Some(Pt { x, y: tps.mean, ci: tps.interval(LEVEL) }),
            Metric::P99 => Some(Pt { x, y: a.p99_max_ms?, ci: None }),
            Metric::PerThread => {
                let ci = tps.interval(LEVEL).map(|(l, h)| (l / x, h / x));
                Some(Pt { x, y: tps.mean / x, ci })
            }
        }
    }
}

/// One curve as a series.
pub fn series(curve: &[&Agg], metric: Metric, label: String, color: usize, line: Line) -> Series {
    Series {
        label,
        color,
        line,
        mark_peak: metric == Metric::Tps && line == Line::Solid,
        points: curve.iter().filter_map(|a| metric.value(a)).collect(),
    }
}

/// A figure of `metric` against N (log2).
pub fn over_threads(title: String, panels: Vec<Panel>, metric: Metric) -> Curves {
    Curves { legend: metric.legend(), ..Curves::grid(title, panels, "threads N (log2)", metric.y_desc()) }
}

/// One figure per workload (the control is drawn on each), one panel per device, one line
/// per runtime (and strategy, when more than one was swept).
pub fn by_workload(aggs: &[Agg], metric: Metric, out: &Path) -> anyhow::Result<Outcome> {
    let family = match metric {
        Metric::Tps => "saturation cliff",
        Metric::P99 => "P99 latency",
        Metric::PerThread => "per-thread efficiency",
    };
    let cs = curves(aggs);
    if cs.is_empty() {
        return Ok(Outcome::Skipped { family, reason: "no point with a swept thread count (N > 0)".into() });
    }
    let workloads: BTreeSet<&str> = cs.keys().map(|k| k.2.as_str()).collect();
    let strategies: BTreeSet<&str> = cs.keys().map(|k| k.3.as_str()).collect();
    let runtimes: Vec<&str> = cs.keys().map(|k| k.1.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let shown: Vec<&str> = match workloads.iter().filter(|w| **w != CONTROL).copied().collect::<Vec<_>>() {
        v if v.is_empty() => vec![CONTROL],
        v => v,
    };
    let mut figs = Vec::new();
    for w in shown {
        let devices: BTreeSet<&str> = cs.keys().filter(|k| k.2 == w).map(|k| k.0.as_str()).collect();
        let panels = devices
            .iter()
            .map(|d| {
                let mut series_list = Vec::new();
                for ((dev, rt, wl, st), pts) in &cs {
                    if dev != d || (wl != w && !(wl == CONTROL && w != CONTROL)) {
                        continue;
                    }
                    let color = runtimes.iter().position(|r| r == rt).unwrap_or(0)
                        + strategies.iter().position(|s| s == st).unwrap_or(0) * runtimes.len();
                    let mut label = rt.clone();
                    if strategies.len() > 1 {
                        label = format!("{label} {st}");
                    }
                    let control = wl == CONTROL && w != CONTROL;
                    if control {
                        label = format!("{label} ({CONTROL} control)");
                    }
                    series_list.push(series(pts, metric, label, color, if control { Line::Dashed } else { Line::Solid }));
                }
                Panel { title: format!("{w} on {d}"), series: series_list, y_desc: None }
            })
            .collect::<Vec<_>>();
        let chart = over_threads(format!("{family}: {w}"), panels, metric);
        let (name, caption) = match metric {
            Metric::Tps => (
                format!("cliff-{}", slug(w)),
                format!("Mean TPS against N for {w} (solid, peak marked, 95 % t-interval bars when repeated) and the {CONTROL} control (dashed), per device and runtime."),
            ),
            Metric::P99 => (
                format!("p99-{}", slug(w)),
                format!("P99 task latency against N for {w} (largest P99 over repetitions), control dashed; both axes logarithmic."),
            ),
            Metric::PerThread => (
                format!("per-thread-{}", slug(w)),
                format!("TPS / N for {w}: what one more thread buys; control dashed."),
            ),
        };
        figs.push(render(out, &name, &chart.title, &caption, &chart)?);
    }
    Ok(Outcome::Drawn(figs))
}

/// TPS against peak memory, per device and workload; a swept strategy is a line in N order,
/// an elastic pool a single point.
pub fn memory(aggs: &[Agg], out: &Path) -> anyhow::Result<Outcome> {
    let family = "baselines: TPS against memory";
    let with_mem: Vec<&Agg> = aggs.iter().filter(|a| a.peak_rss_mb.is_some() && a.tps.is_some()).collect();
    if with_mem.is_empty() {
        return Ok(Outcome::Skipped { family, reason: "no ok point has peak_rss_mb".into() });
    }
    // (device, workload) -> (strategy, runtime) -> points.
    type Lines<'a> = BTreeMap<(&'a str, &'a str), Vec<Pt>>;
    let mut panels: BTreeMap<(&str, &str), Lines> = BTreeMap::new();
    for a in &with_mem {
        let g = &a.group;
        let pt = Pt { x: a.peak_rss_mb.unwrap_or(0.0), y: a.steady.map_or(0.0, |s| s.mean), ci: None };
        panels.entry((&g.device, &g.workload)).or_default().entry((&g.strategy, &g.runtime)).or_default().push(pt);
    }
    let keys: Vec<(&str, &str)> = panels.values().flat_map(|s| s.keys().copied()).collect::<BTreeSet<_>>().into_iter().collect();
    let (lo, hi) = with_mem.iter().filter_map(|a| a.peak_rss_mb).fold((f64::MAX, 0.0f64), |(l, h), m| (l.min(m), h.max(m)));
    let panels = panels
        .into_iter()
        .map(|((d, w), ss)| Panel {
            title: format!("{w} on {d}"),
            series: ss
                .into_iter()
                .map(|((st, rt), points)| Series {
                    label: format!("{st} ({rt})"),
                    color: keys.iter().position(|k| *k == (st, rt)).unwrap_or(0),
                    line: Line::Solid,
                    mark_peak: false,
                    points,
                })
                .collect(),
            y_desc: None,
        })
        .collect();
    let chart = Curves {
        x_axis: if hi > 8.0 * lo { XAxis::Log } else { XAxis::Linear },
        ..Curves::grid("TPS against peak memory per strategy".into(), panels, "peak RSS (MB)", "throughput (tasks/s)")
    };
    let caption = "Mean (steady) TPS against mean peak RSS: a fixed pool's line follows N upwards; process pools pay one interpreter per worker.";
    Ok(Outcome::Drawn(vec![render(out, "memory", &chart.title, caption, &chart)?]))
}

/// A `beta_thresh` parameter carried in a strategy name, e.g. `adaptive-paper{beta_thresh=0.4}`.
pub fn beta_thresh(strategy: &str) -> Option<(String, f64)> {
    let i = strategy.find("beta_thresh")?;
    let rest = strategy[i + "beta_thresh".len()..].trim_start_matches([' ', '=', ':']);
    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let base = strategy[..i].trim_end_matches(['{', '(', '[', ' ', ':', ',']).to_string();
    Some((base, num.parse().ok()?))
}

/// Steady TPS against beta_thresh, per workload, when a scenario swept it.
pub fn sensitivity(aggs: &[Agg], out: &Path) -> anyhow::Result<Outcome> {
    let family = "beta-threshold sensitivity";
    let mut panels: BTreeMap<&str, BTreeMap<String, Vec<Pt>>> = BTreeMap::new();
    for a in aggs {
        let (Some((base, th)), Some(s)) = (beta_thresh(&a.group.strategy), a.steady) else { continue };
        let key = format!("{base} {} {}", a.group.device, a.group.runtime);
        panels.entry(&a.group.workload).or_default().entry(key).or_default().push(Pt { x: th, y: s.mean, ci: s.interval(LEVEL) });
    }
    panels.retain(|_, ss| ss.values().any(|p| p.len() >= 2));
    if panels.is_empty() {
        return Ok(Outcome::Skipped {
            family,
            reason: "the scenario does not sweep beta_thresh (strategies such as { adaptive-paper = { beta_thresh = 0.4 } } give rows named adaptive-paper{beta_thresh=0.4})".into(),
        });
    }
    let panels = panels
        .into_iter()
        .map(|(w, ss)| Panel {
            title: w.to_string(),
            series: ss
                .into_iter()
                .enumerate()
                .map(|(i, (label, mut points))| {
                    points.sort_by(|a, b| a.x.total_cmp(&b.x));
                    Series { label, color: i, line: Line::Solid, mark_peak: false, points }
                })
                .collect(),
            y_desc: None,
        })
        .collect();
    let chart = Curves {
        x_axis: XAxis::Linear,
        y_log: false,
        ..Curves::grid("Steady TPS against the beta threshold".into(), panels, "beta_thresh", "steady throughput (tasks/s)")
    };
    let caption = "Steady TPS of the controller at each beta threshold (the paper: best TPS within about 2.5 % over 0.2-0.7).";
    Ok(Outcome::Drawn(vec![render(out, "beta-threshold", &chart.title, caption, &chart)?]))
}

#[cfg(test)]
mod tests {
    use super::beta_thresh;

    #[test]
    fn beta_thresh_from_strategy_names() {
        assert_eq!(beta_thresh("adaptive-paper{beta_thresh=0.4}"), Some(("adaptive-paper".into(), 0.4)));
        assert_eq!(beta_thresh("adaptive-paper:beta_thresh=0.25"), Some(("adaptive-paper".into(), 0.25)));
        assert_eq!(beta_thresh("adaptive-paper"), None);
        assert_eq!(beta_thresh("adaptive-paper{beta_thresh=x}"), None);
    }
}

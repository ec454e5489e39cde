//! Strategy figures: TPS and P99 of every strategy (each at its best N) beside the best
//! fixed pool, and efficiency against that optimum with the paper's reference lines.

use std::collections::BTreeSet;
use std::path::Path;

use super::bars::{BarPanel, BarSeries, Bars};
use super::{render, Outcome};
use crate::report::aggregate::{best_per_strategy, Agg, Efficiency, FIXED};

/// The paper's efficiency figures: adaptive on the micro task (v1), mean over the seven
/// edge workloads (v2).
pub const PAPER_ETA: [(&str, f64); 2] = [("paper: adaptive, micro task 96.5 %", 96.5), ("paper v2: mean of 7 workloads 93.9 %", 93.9)];

type Key<'a> = (&'a str, &'a str);

fn device_runtimes<'a>(aggs: impl Iterator<Item = &'a Agg>) -> Vec<Key<'a>> {
    aggs.map(|a| (a.group.device.as_str(), a.group.runtime.as_str())).collect::<BTreeSet<_>>().into_iter().collect()
}

pub fn comparison(aggs: &[Agg], out: &Path) -> anyhow::Result<Outcome> {
    let family = "strategy comparison";
    let best = best_per_strategy(aggs);
    let strategies: Vec<&str> = best.iter().map(|a| a.group.strategy.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    if strategies.len() < 2 {
        return Ok(Outcome::Skipped { family, reason: format!("only one strategy in the data ({})", strategies.join(", ")) });
    }
    let mut panels = Vec::new();
    for (d, r) in device_runtimes(best.iter().copied()) {
        let here: Vec<&&Agg> = best.iter().filter(|a| a.group.device == d && a.group.runtime == r).collect();
        let groups: Vec<String> = here.iter().map(|a| a.group.workload.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let value = |st: &str, w: &str, f: &dyn Fn(&Agg) -> Option<f64>| {
            here.iter().find(|a| a.group.strategy == st && a.group.workload == w).and_then(|a| f(a))
        };
        let series = |f: &dyn Fn(&Agg) -> Option<f64>| {
            strategies
                .iter()
                .enumerate()
                .map(|(i, st)| BarSeries {
                    label: if *st == FIXED { "fixed (best N, reference)".into() } else { st.to_string() },
                    color: if *st == FIXED { 7 } else { i },
                    values: groups.iter().map(|w| value(st, w, f)).collect(),
                })
                .collect::<Vec<_>>()
        };
        panels.push(BarPanel {
            title: format!("TPS, {d} {r}"),
            groups: groups.clone(),
            series: series(&|a| a.steady.map(|s| s.mean)),
            y_desc: "steady throughput (tasks/s)".into(),
            y_log: true,
            refs: vec![],
        });
        panels.push(BarPanel {
            title: format!("P99, {d} {r}"),
            series: series(&|a| a.p99_max_ms),
            groups,
            y_desc: "P99 task latency (ms)".into(),
            y_log: true,
            refs: vec![],
        });
    }
    let chart = Bars { title: "Strategies: throughput and P99 (each at its best N)".into(), panels, cols: 2 };
    let caption = "Mean steady TPS (left) and P99 (right) of each strategy at its best N; elastic pools choose their own N; grey: the best fixed pool.";
    Ok(Outcome::Drawn(vec![render(out, "strategies", &chart.title, caption, &chart)?]))
}

pub fn efficiency(effs: &[Efficiency], any_fixed: bool, out: &Path) -> anyhow::Result<Outcome> {
    let family = "efficiency against optimum";
    if effs.is_empty() {
        let reason = if any_fixed {
            "no strategy other than the fixed pool shares a device, runtime and workload with a fixed-pool sweep"
        } else {
            "no fixed-pool sweep (strategy `fixed`) to define the optimum"
        };
        return Ok(Outcome::Skipped { family, reason: reason.into() });
    }
    let strategies: Vec<&str> = effs.iter().map(|e| e.agg.group.strategy.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let panels = device_runtimes(effs.iter().map(|e| e.agg))
        .into_iter()
        .map(|(d, r)| {
            let here: Vec<&Efficiency> = effs.iter().filter(|e| e.agg.group.device == d && e.agg.group.runtime == r).collect();
            let groups: Vec<String> = here.iter().map(|e| e.agg.group.workload.clone()).collect::<BTreeSet<_>>().into_iter().collect();
            let series = strategies
                .iter()
                .enumerate()
                .map(|(i, st)| BarSeries {
                    label: st.to_string(),
                    color: i,
                    values: groups
                        .iter()
                        .map(|w| here.iter().find(|e| e.agg.group.strategy == *st && e.agg.group.workload == *w).map(|e| 100.0 * e.eta))
                        .collect(),
                })
                .collect();
            let mut refs: Vec<(String, f64)> = PAPER_ETA.iter().map(|(l, v)| (l.to_string(), *v)).collect();
            refs.push(("best fixed pool = 100 %".into(), 100.0));
            BarPanel { title: format!("{d} {r}"), groups, series, y_desc: "efficiency (% of best fixed pool TPS)".into(), y_log: false, refs }
        })
        .collect();
    let chart = Bars { title: "Efficiency against the best fixed pool".into(), panels, cols: 2 };
    let caption = "Steady TPS of each strategy / TPS of the best fixed pool of the same device, runtime and workload; dashed: the paper's 96.5 % and 93.9 %.";
    Ok(Outcome::Drawn(vec![render(out, "efficiency", &chart.title, caption, &chart)?]))
}

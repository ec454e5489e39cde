//! The controller timeline of an elastic pool: N (and the size asked for), beta (sample and
//! EWMA), lock-wait and run-queue fractions over time, vetoes marked where they happened.

use std::path::Path;

use plotters::prelude::SeriesLabelPosition;

use super::curves::{Curves, Line, Panel, Pt, Series, XAxis};
use super::{render, slug, Outcome, Rendered};
use crate::measure::TimelineRow;
use crate::report::load::Timeline;

fn line(label: &str, color: usize, style: Line, rows: &[TimelineRow], f: impl Fn(&TimelineRow) -> Option<f64>) -> Series {
    let points = rows.iter().filter_map(|r| Some(Pt { x: r.t_s, y: f(r)?, ci: None })).collect();
    Series { label: label.into(), color, line: style, mark_peak: false, points }
}

pub fn timelines(tls: &[Timeline], out: &Path) -> anyhow::Result<Outcome> {
    let family = "controller timeline";
    if tls.is_empty() {
        return Ok(Outcome::Skipped { family, reason: "no timelines/*.csv (only elastic pools write them)".into() });
    }
    let figs = tls.iter().filter(|t| !t.rows.is_empty()).map(|t| one(t, out)).collect::<anyhow::Result<Vec<Rendered>>>()?;
    Ok(Outcome::Drawn(figs))
}

fn one(t: &Timeline, out: &Path) -> anyhow::Result<Rendered> {
    let r = &t.rows;
    // A veto is an interval whose running count went up; mark it on the N line.
    let mut vetoes = line("veto", 3, Line::Markers, r, |_| None);
    vetoes.points = r
        .windows(2)
        .filter(|w| w[1].vetoes > w[0].vetoes)
        .map(|w| Pt { x: w[1].t_s, y: w[1].threads as f64, ci: None })
        .collect();
    let mut n_series = vec![
        line("threads N", 0, Line::Solid, r, |x| Some(x.threads as f64)),
        line("size asked for", 1, Line::Dashed, r, |x| Some(x.target as f64)),
    ];
    if !vetoes.points.is_empty() {
        n_series.push(vetoes);
    }
    let total_vetoes = r.last().map_or(0, |x| x.vetoes);
    let chart = Curves {
        title: format!("Controller timeline: {}", t.name),
        panels: vec![
            Panel { title: format!("pool size ({total_vetoes} vetoes)"), series: n_series, y_desc: Some("threads".into()) },
            Panel {
                title: "blocking ratio beta".into(),
                series: vec![
                    line("beta (interval sample)", 0, Line::Solid, r, |x| x.beta),
                    line("beta EWMA", 1, Line::Dashed, r, |x| x.beta_ewma),
                ],
                y_desc: Some("beta = 1 - cpu/wall".into()),
            },
            Panel {
                title: "where task time goes".into(),
                series: vec![
                    line("lock-wait fraction", 3, Line::Solid, r, |x| x.lock_wait_frac),
                    line("run-queue fraction", 4, Line::Solid, r, |x| x.runq_wait_frac),
                    line("CPU utilisation (cores)", 2, Line::Dashed, r, |x| Some(x.cpu_util)),
                ],
                y_desc: Some("fraction of task time; cores".into()),
            },
            Panel { title: "throughput".into(), series: vec![line("TPS per interval", 0, Line::Solid, r, |x| Some(x.tps))], y_desc: Some("tasks/s".into()) },
        ],
        x_desc: "time (s)".into(),
        y_desc: "".into(),
        x_axis: XAxis::Linear,
        y_log: false,
        cols: 2,
        panel: (640, 380),
        legend: SeriesLabelPosition::UpperRight,
    };
    let caption = format!(
        "{}: pool size, beta, waits and throughput per controller interval ({} intervals); red triangles: vetoed scale-ups.",
        t.name,
        r.len()
    );
    render(out, &format!("timeline-{}", slug(&t.name)), &chart.title, &caption, &chart)
}

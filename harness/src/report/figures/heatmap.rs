//! TPS over workload x N, one panel per device, runtime and strategy; each row is coloured
//! relative to its own peak, since workloads differ by orders of magnitude.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{fmt_count, fmt_si, font, grid_size, panels, render, Chart, Outcome};
use crate::report::aggregate::{curves, Agg};

struct Grid {
    title: String,
    workloads: Vec<String>,
    threads: Vec<u32>,
    /// (row, col) -> mean TPS.
    cells: BTreeMap<(usize, usize), f64>,
}

struct Heatmap {
    grids: Vec<Grid>,
}

/// White to dark blue by share of the row's peak.
fn shade(f: f64) -> RGBColor {
    let f = f.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * f) as u8;
    RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

impl Chart for Heatmap {
    fn size(&self) -> (u32, u32) {
        let cols = self.grids.iter().map(|g| g.threads.len()).max().unwrap_or(1) as u32;
        let rows = self.grids.iter().map(|g| g.workloads.len()).max().unwrap_or(1) as u32;
        grid_size(self.grids.len(), 2, 260 + 56 * cols, 130 + 44 * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let title = "TPS over workload x N (colour: share of the row's peak; text: mean TPS)";
        for (g, area) in self.grids.iter().zip(panels(root, title, self.grids.len(), 2)?) {
            let (nc, nr) = (g.threads.len(), g.workloads.len());
            let mut chart = ChartBuilder::on(&area)
                .caption(&g.title, font(18))
                .margin(10)
                .x_label_area_size(44)
                .y_label_area_size(170)
                .build_cartesian_2d(-0.5..nc as f64 - 0.5, -0.5..nr as f64 - 0.5)?;
            let at = |v: f64, n: usize| {
                let i = v.round();
                ((v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n).then_some(i as usize)
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(nc * 2 + 1)
                .y_labels(nr * 2 + 1)
                .x_label_formatter(&|v| at(*v, nc).map_or(String::new(), |i| fmt_count(g.threads[i] as f64)))
                .y_label_formatter(&|v| at(*v, nr).map_or(String::new(), |i| g.workloads[i].clone()))
                .x_desc("threads N")
                .label_style(font(13))
                .axis_desc_style(font(15))
                .draw()?;
            for r in 0..nr {
                let peak = (0..nc).filter_map(|c| g.cells.get(&(r, c))).fold(0.0f64, |a, &b| a.max(b));
                for c in 0..nc {
                    let Some(&v) = g.cells.get(&(r, c)) else { continue };
                    let f = if peak > 0.0 { v / peak } else { 0.0 };
                    let (x, y) = (c as f64, r as f64);
                    chart.draw_series(std::iter::once(Rectangle::new([(x - 0.48, y - 0.48), (x + 0.48, y + 0.48)], shade(f).filled())))?;
                    let ink = if f > 0.55 { WHITE } else { BLACK };
                    let text = EmptyElement::at((x, y)) + Text::new(fmt_si(v), (-17, -7), font(13).color(&ink));
                    chart.draw_series(std::iter::once(text))?;
                }
            }
        }
        Ok(())
    }
}

pub fn heatmap(aggs: &[Agg], out: &Path) -> anyhow::Result<Outcome> {
    let mut by_panel: BTreeMap<(String, String, String), Vec<&Agg>> = BTreeMap::new();
    for ((d, r, _, s), pts) in curves(aggs) {
        by_panel.entry((d, r, s)).or_default().extend(pts);
    }
    if by_panel.is_empty() {
        return Ok(Outcome::Skipped { family: "heatmap", reason: "no point with a swept thread count (N > 0)".into() });
    }
    let grids = by_panel
        .into_iter()
        .map(|((d, r, s), pts)| {
            let workloads: Vec<String> = pts.iter().map(|a| a.group.workload.clone()).collect::<BTreeSet<_>>().into_iter().collect();
            let threads: Vec<u32> = pts.iter().map(|a| a.group.threads).collect::<BTreeSet<_>>().into_iter().collect();
            let cells = pts
                .iter()
                .filter_map(|a| {
                    let row = workloads.iter().position(|w| *w == a.group.workload)?;
                    let col = threads.iter().position(|n| *n == a.group.threads)?;
                    Some(((row, col), a.tps_mean()?))
                })
                .collect();
            Grid { title: format!("{d} {r} {s}"), workloads, threads, cells }
        })
        .collect();
    let chart = Heatmap { grids };
    let caption = "Mean TPS for every workload and N; each row is shaded by its share of that row's peak, so the optimum N of each workload stands out.";
    Ok(Outcome::Drawn(vec![render(out, "heatmap", "TPS over workload x N", caption, &chart)?]))
}

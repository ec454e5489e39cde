//! Grouped bar charts: one panel per device/runtime, groups along x (workloads), one bar per
//! series (strategy), optional horizontal reference lines. The strategy comparison and the
//! efficiency figure draw through here.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, fmt_si, font, grid_size, panels, plot, Axis, Chart};

#[derive(Debug, Clone)]
pub struct BarSeries {
    pub label: String,
    pub color: usize,
    /// One value per group; None draws no bar.
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct BarPanel {
    pub title: String,
    pub groups: Vec<String>,
    pub series: Vec<BarSeries>,
    pub y_desc: String,
    pub y_log: bool,
    /// Horizontal reference lines: (legend label, y).
    pub refs: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Bars {
    pub title: String,
    pub panels: Vec<BarPanel>,
    pub cols: usize,
}

impl Chart for Bars {
    fn size(&self) -> (u32, u32) {
        let widest = self.panels.iter().map(|p| p.groups.len() * p.series.len()).max().unwrap_or(1);
        let w = (360 + 34 * widest as u32).clamp(560, 1400);
        grid_size(self.panels.len(), self.cols, w, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        for (p, area) in self.panels.iter().zip(panels(root, &self.title, self.panels.len(), self.cols)?) {
            let x = -0.5..p.groups.len() as f64 - 0.5;
            let vals = p.series.iter().flat_map(|s| s.values.iter().flatten().copied()).chain(p.refs.iter().map(|r| r.1));
            let (lo, hi) = vals.filter(|v| !p.y_log || *v > 0.0).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            let (lo, hi) = if lo > hi { (1.0, 2.0) } else { (lo, hi) };
            if p.y_log {
                let base = lo / 2.0;
                panel(p, &area, x, (base..hi * 10.0).log_scale(), base)?;
            } else {
                panel(p, &area, x, 0.0..hi * 1.3, 0.0)?;
            }
        }
        Ok(())
    }
}

fn panel<DB, X: Axis, Y: Axis>(p: &BarPanel, area: &DrawingArea<DB, Shift>, x: X, y: Y, base: f64) -> anyhow::Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut chart = plot(area, &p.title, 40, x, y)?;
    // Group names sit under integer x; other tick positions get no label.
    let group_label = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 { p.groups.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(p.groups.len() * 2 + 1)
        .x_label_formatter(&group_label)
        .y_label_formatter(&|v| fmt_si(*v))
        .y_desc(&p.y_desc)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let k = p.series.len().max(1) as f64;
    let w = 0.8 / k;
    for (j, s) in p.series.iter().enumerate() {
        let c = color(s.color);
        let bars = s.values.iter().enumerate().filter_map(|(i, v)| {
            let v = (*v)?;
            let x0 = i as f64 - 0.4 + j as f64 * w;
            Some(Rectangle::new([(x0 + 0.01, base), (x0 + w - 0.01, v)], c.filled()))
        });
        chart
            .draw_series(bars)?
            .label(&s.label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
    }
    for (r, (label, v)) in p.refs.iter().enumerate() {
        let c = [RGBColor(200, 30, 30), RGBColor(60, 60, 60), RGBColor(30, 120, 30)][r % 3];
        let n = p.groups.len() as f64;
        chart
            .draw_series(DashedLineSeries::new(vec![(-0.5, *v), (n - 0.5, *v)], 8, 5, c.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(font(13))
        .draw()?;
    Ok(())
}

//! Line charts over N (log2) or a linear parameter, one panel per device (or group), with
//! 95 % error bars and a marked peak: the cliff, P99, per-thread efficiency, the compare
//! overlays and the beta-threshold sweep all draw through here.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, fmt_count, fmt_si, font, grid_size, panels, plot, Axis, Chart};

#[derive(Debug, Clone)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
    /// 95 % interval of y, when there are repetitions.
    pub ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub color: usize,
    pub line: Line,
    pub mark_peak: bool,
    pub points: Vec<Pt>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line {
    Solid,
    Dashed,
    /// Markers only, e.g. events on a timeline.
    Markers,
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub series: Vec<Series>,
    /// This panel's y axis description, when it differs from the chart's.
    pub y_desc: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    /// A thread count: log2 axis labelled 1, 2, ..., 2k.
    Threads,
    Log,
    Linear,
}

#[derive(Debug, Clone)]
pub struct Curves {
    pub title: String,
    pub panels: Vec<Panel>,
    pub x_desc: String,
    pub y_desc: String,
    pub x_axis: XAxis,
    pub y_log: bool,
    pub cols: usize,
    /// Pixel size of one panel.
    pub panel: (u32, u32),
    /// Where the legend goes: the corner the data leave empty.
    pub legend: SeriesLabelPosition,
}

impl Curves {
    /// Two columns of 640 x 440 panels over N, log y: the sweep figures' common layout,
    /// which each changes field by field where it differs.
    pub fn grid(title: String, panels: Vec<Panel>, x_desc: &str, y_desc: &str) -> Curves {
        Curves {
            title,
            panels,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            x_axis: XAxis::Threads,
            y_log: true,
            cols: 2,
            panel: (640, 440),
            legend: SeriesLabelPosition::LowerRight,
        }
    }
}

impl Chart for Curves {
    fn size(&self) -> (u32, u32) {
        grid_size(self.panels.len(), self.cols, self.panel.0, self.panel.1)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        for (panel, area) in self.panels.iter().zip(panels(root, &self.title, self.panels.len(), self.cols)?) {
            // Within one decade a log axis gets one tick label or none: draw that panel linear.
            let ys = panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.y)).filter(|y| *y > 0.0);
            let (lo, hi) = ys.fold((f64::MAX, 0.0f64), |(l, h), y| (l.min(y), h.max(y)));
            let linear;
            let this = if self.y_log && hi < 10.0 * lo {
                linear = Curves { y_log: false, ..self.clone() };
                &linear
            } else {
                self
            };
            this.one_panel(panel, &area)?;
        }
        Ok(())
    }
}

impl Curves {
    fn one_panel<DB: DrawingBackend>(&self, panel: &Panel, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = area.clone();
        {
            let ((x0, x1), (y0, y1)) = self.bounds(panel);
            match (self.x_axis, self.y_log) {
                (XAxis::Threads, true) => self.panel(panel, &area, (x0..x1).log_scale().base(2.0), (y0..y1).log_scale())?,
                (XAxis::Threads, false) => self.panel(panel, &area, (x0..x1).log_scale().base(2.0), y0..y1)?,
                (XAxis::Log, true) => self.panel(panel, &area, (x0..x1).log_scale(), (y0..y1).log_scale())?,
                (XAxis::Log, false) => self.panel(panel, &area, (x0..x1).log_scale(), y0..y1)?,
                (XAxis::Linear, true) => self.panel(panel, &area, x0..x1, (y0..y1).log_scale())?,
                (XAxis::Linear, false) => self.panel(panel, &area, x0..x1, y0..y1)?,
            }
        }
        Ok(())
    }
}

impl Curves {
    /// Axis ranges with some headroom; log axes start at the smallest positive value.
    fn bounds(&self, panel: &Panel) -> ((f64, f64), (f64, f64)) {
        let pts = || panel.series.iter().flat_map(|s| s.points.iter()).filter(|p| !self.y_log || p.y > 0.0).filter(|p| self.x_axis == XAxis::Linear || p.x > 0.0);
        let xs = pts().map(|p| p.x);
        let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let ys = pts().flat_map(|p| [p.y, p.ci.map_or(p.y, |c| c.0), p.ci.map_or(p.y, |c| c.1)]);
        let (y0, y1) = ys.filter(|y| !self.y_log || *y > 0.0).fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
        if x0 > x1 || y0 > y1 {
            return ((1.0, 2.0), (1.0, 2.0));
        }
        let x = if self.x_axis == XAxis::Linear { pad(x0, x1) } else { (x0 / 1.2, x1 * 1.2) };
        // Room for the legend on its side (it sits inside the plot), and for peak labels on top.
        let below = matches!(self.legend, SeriesLabelPosition::LowerLeft | SeriesLabelPosition::LowerMiddle | SeriesLabelPosition::LowerRight);
        let (pad_lo, pad_hi) = if below { (0.6, 0.25) } else { (0.1, 0.6) };
        let y = if self.y_log {
            let span = (y1 / y0).ln().max(4f64.ln());
            (y0 * (-pad_lo * span).exp(), y1 * (pad_hi * span).exp())
        } else {
            let lo = 0.0f64.min(y0);
            let span = (y1 - lo).max(1e-9);
            // Never below zero on a linear axis (no negative TPS ticks); the legend may overlap.
            (lo, y1 + pad_hi.max(0.35) * span)
        };
        (x, y)
    }

    fn panel<DB, X: Axis, Y: Axis>(&self, panel: &Panel, area: &DrawingArea<DB, Shift>, x: X, y: Y) -> anyhow::Result<()>
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
    {
        let mut chart = plot(area, &panel.title, 44, x, y)?;
        let xfmt = |v: &f64| if self.x_axis == XAxis::Threads { fmt_count(*v) } else { fmt_si(*v) };
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(panel.y_desc.as_deref().unwrap_or(&self.y_desc))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&|v| fmt_si(*v))
            .label_style(font(13))
            .axis_desc_style(font(15))
            // Log axes subdivide densely; the bold grid is enough to read values.
            .light_line_style(TRANSPARENT)
            .draw()?;
        for s in &panel.series {
            let c = color(s.color);
            let style = c.stroke_width(2);
            let pts: Vec<(f64, f64)> = s.points.iter().filter(|p| !self.y_log || p.y > 0.0).map(|p| (p.x, p.y)).collect();
            let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2));
            let dashes = move |(x, y): (i32, i32)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (8, 0)], c.stroke_width(2))
                    + PathElement::new(vec![(13, 0), (22, 0)], c.stroke_width(2))
            };
            match s.line {
                Line::Solid => chart.draw_series(LineSeries::new(pts.clone(), style))?.label(&s.label).legend(legend),
                Line::Dashed => chart.draw_series(DashedLineSeries::new(pts.clone(), 7, 4, style))?.label(&s.label).legend(dashes),
                Line::Markers => chart
                    .draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 7, c.filled())))?
                    .label(&s.label)
                    .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, c.filled())),
            };
            if s.line != Line::Markers && pts.len() <= 64 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
            chart.draw_series(s.points.iter().filter_map(|p| {
                let (lo, hi) = p.ci?;
                (!self.y_log || lo > 0.0).then(|| ErrorBar::new_vertical(p.x, lo, p.y, hi, c.stroke_width(1), 8))
            }))?;
            if let Some(&(px, py)) = pts.iter().filter(|_| s.mark_peak).max_by(|a, b| a.1.total_cmp(&b.1)) {
                let label = format!("peak N={}", fmt_count(px));
                let mark = EmptyElement::at((px, py))
                    + TriangleMarker::new((0, -2), 9, c.filled())
                    + Text::new(label, (-28, -26 - 14 * (s.color % 3) as i32), font(13).color(&c));
                chart.draw_series(std::iter::once(mark))?;
            }
        }
        chart
            .configure_series_labels()
            .position(self.legend.clone())
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(font(13))
            .draw()?;
        Ok(())
    }
}

fn pad(a: f64, b: f64) -> (f64, f64) {
    let d = (b - a).abs().max(1e-9) * 0.08;
    (a - d, b + d)
}

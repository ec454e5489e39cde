//! Figures: each family in its own file draws on any plotters backend through `Chart`, and
//! `render` writes it once as SVG (kept for the HTML page) and once as PNG.

pub mod bars;
pub mod curves;
pub mod heatmap;
pub mod overhead;
pub mod strategies;
pub mod sweep;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Where text rendering finds its font; plotters' ab_glyph backend needs one registered.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
pub const FONT: &str = "sans-serif";

/// A figure on any backend.
pub trait Chart {
    /// Pixel size of the PNG (and of the SVG's view box).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// One written figure.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem: `<name>.svg` and `<name>.png` in the output folder.
    pub name: String,
    pub title: String,
    /// What the figure shows, one sentence (also the caption in report.md and index.html).
    pub caption: String,
    pub svg: String,
    pub png: PathBuf,
}

/// What a figure family produced: figures, or why none could be drawn from this data.
#[derive(Debug, Clone)]
pub enum Outcome {
    Drawn(Vec<Rendered>),
    Skipped { family: &'static str, reason: String },
}

/// Registers the font once per process. The error names the package that provides it.
pub fn ensure_font() -> anyhow::Result<()> {
    static FONT_BYTES: OnceLock<Result<(), String>> = OnceLock::new();
    FONT_BYTES
        .get_or_init(|| {
            let path = std::env::var("GILBENCH_FONT").unwrap_or_else(|_| FONT_PATH.to_string());
            let bytes = std::fs::read(&path).map_err(|e| {
                format!("cannot read the font {path} ({e}): install it with `apt-get install -y fonts-dejavu-core` (scripts/setup does), or set GILBENCH_FONT to a .ttf file")
            })?;
            // plotters keeps a &'static reference; one font per process, so leaking is bounded.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font(FONT, FontStyle::Normal, bytes)
                .map_err(|_| format!("{path} is not a usable TrueType font"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Draws `chart` as `<out>/<name>.svg` and `.png`.
pub fn render(out: &Path, name: &str, title: &str, caption: &str, chart: &impl Chart) -> anyhow::Result<Rendered> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root).with_context(|| format!("drawing {name}.svg"))?;
        root.present()?;
    }
    std::fs::write(out.join(format!("{name}.svg")), &svg).with_context(|| format!("writing {name}.svg"))?;
    let png = out.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png, chart.size()).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root).with_context(|| format!("drawing {name}.png"))?;
        root.present().with_context(|| format!("writing {}", png.display()))?;
    }
    Ok(Rendered { name: name.into(), title: title.into(), caption: caption.into(), svg, png })
}

/// Distinct colours for series (Tableau 10), by index.
pub fn color(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

pub fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Thread counts as axis labels: 1, 2, ..., 1k, 2k.
pub fn fmt_count(v: f64) -> String {
    if v >= 1000.0 && (v / 1024.0).fract() == 0.0 {
        format!("{}k", v / 1024.0)
    } else {
        format!("{}", v.round())
    }
}

/// Values on axes and in cells, three significant digits: 0.25, 12, 345, 3.45k, 27.7k, 1.2M.
pub fn fmt_si(v: f64) -> String {
    let a = v.abs();
    let (x, unit) = if a >= 1e6 { (v / 1e6, "M") } else if a >= 1e3 { (v / 1e3, "k") } else { (v, "") };
    let ax = x.abs();
    let digits = if ax >= 100.0 || ax == 0.0 { 0 } else if ax >= 10.0 { 1 } else if ax >= 1.0 { 2 } else if ax >= 0.01 { 3 } else { 5 };
    let s = format!("{x:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    s + unit
}

/// An f64 axis, linear or log, whose ticks can be labelled.
pub trait Axis: AsRangedCoord<Value = f64, CoordDescType: ValueFormatter<f64>> {}
impl<T: AsRangedCoord<Value = f64, CoordDescType: ValueFormatter<f64>>> Axis for T {}

/// One panel's plot area: its title on top, room for tick labels below and to the left.
pub fn plot<'a, DB, X: Axis, Y: Axis>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x_label_area: u32,
    x: X,
    y: Y,
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<X::CoordDescType, Y::CoordDescType>>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    Ok(ChartBuilder::on(area).caption(title, font(18)).margin(12).x_label_area_size(x_label_area).y_label_area_size(70).build_cartesian_2d(x, y)?)
}

/// Splits `root` into a grid of `n` panels, at most `cols` wide, below a title line.
pub fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    n: usize,
    cols: usize,
) -> anyhow::Result<Vec<DrawingArea<DB, Shift>>>
where
    DB::ErrorType: 'static,
{
    let body = root.titled(title, font(24))?;
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    Ok(body.split_evenly((rows, cols)).into_iter().take(n).collect())
}

/// Chart size for a grid of `n` panels of `w` x `h` pixels, at most `cols` wide.
pub fn grid_size(n: usize, cols: usize, w: u32, h: u32) -> (u32, u32) {
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    (w * cols as u32, h * rows as u32 + 40)
}

/// A file-name-safe version of a label.
pub fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

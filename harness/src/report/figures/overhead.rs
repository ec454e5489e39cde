//! Instrumentation overhead: the distribution of criterion's per-iteration times
//! (`<criterion>/<bench>/new/sample.json`), one strip per benchmark, median marked.

use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{fmt_si, font, render, Chart, Outcome};

/// One benchmark's samples: time per iteration in nanoseconds.
#[derive(Debug, Clone)]
pub struct Bench {
    pub name: String,
    pub ns: Vec<f64>,
}

impl Bench {
    pub fn median(&self) -> f64 {
        let mut v = self.ns.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return f64::NAN;
        }
        if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
    }
}

#[derive(serde::Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Every `*/new/sample.json` under `dir` (criterion nests groups one level deeper).
pub fn read_criterion(dir: &Path) -> anyhow::Result<Vec<Bench>> {
    let mut files = Vec::new();
    find_samples(dir, dir, 0, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|(name, path)| {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let s: Sample = serde_json::from_str(&text).with_context(|| format!("{}: not a criterion sample", path.display()))?;
            let ns = s.iters.iter().zip(&s.times).filter(|(i, _)| **i > 0.0).map(|(i, t)| t / i).collect();
            Ok(Bench { name, ns })
        })
        .collect()
}

fn find_samples(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
    let sample = dir.join("new").join("sample.json");
    if sample.is_file() {
        let name = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
        out.push((name, sample));
        return Ok(());
    }
    if depth > 3 {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?.flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "report") {
            find_samples(root, &p, depth + 1, out)?;
        }
    }
    Ok(())
}

struct Strips {
    benches: Vec<Bench>,
}

impl Chart for Strips {
    fn size(&self) -> (u32, u32) {
        (1100, 120 + 46 * self.benches.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let all = self.benches.iter().flat_map(|b| b.ns.iter().copied()).filter(|v| *v > 0.0);
        let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let n = self.benches.len();
        let mut chart = ChartBuilder::on(root)
            .caption("criterion: time per iteration (each dot one sample, bar the median)", font(20))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(380)
            .build_cartesian_2d((lo / 1.5..hi * 8.0).log_scale(), -0.5..n as f64 - 0.5)?;
        let name_at = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 { self.benches.get(i as usize).map_or(String::new(), |b| b.name.clone()) } else { String::new() }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&name_at)
            .x_label_formatter(&|v| format!("{} ns", fmt_si(*v)))
            .x_desc("time per iteration (ns, log)")
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        for (i, b) in self.benches.iter().enumerate() {
            let y = i as f64;
            // A deterministic spread so that equal values do not hide each other.
            let dots = b.ns.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(k, v)| {
                let jitter = ((k * 37) % 17) as f64 / 17.0 * 0.5 - 0.25;
                Circle::new((*v, y + jitter), 2, super::color(i).mix(0.6).filled())
            });
            chart.draw_series(dots)?;
            let m = b.median();
            chart.draw_series(std::iter::once(PathElement::new(vec![(m, y - 0.4), (m, y + 0.4)], BLACK.stroke_width(3))))?;
            let label = EmptyElement::at((m, y + 0.4)) + Text::new(format!("median {} ns", fmt_si(m)), (6, -2), font(12));
            chart.draw_series(std::iter::once(label))?;
        }
        Ok(())
    }
}

/// `dir`: criterion's output folder, or None when none was found.
pub fn overhead(dir: Option<&Path>, out: &Path) -> anyhow::Result<Outcome> {
    let family = "instrumentation overhead";
    let Some(dir) = dir.filter(|d| d.is_dir()) else {
        return Ok(Outcome::Skipped {
            family,
            reason: "no criterion output (run `cargo bench -p gilbench --bench overhead`, then pass --criterion target/criterion or run from the workspace root)".into(),
        });
    };
    let benches: Vec<Bench> = read_criterion(dir)?.into_iter().filter(|b| !b.ns.is_empty()).collect();
    if benches.is_empty() {
        return Ok(Outcome::Skipped { family, reason: format!("no */new/sample.json under {}", dir.display()) });
    }
    let caption = format!("Per-iteration times of {} criterion benchmarks from {}.", benches.len(), dir.display());
    Ok(Outcome::Drawn(vec![render(out, "overhead", "Instrumentation overhead (criterion)", &caption, &Strips { benches })?]))
}

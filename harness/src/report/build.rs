//! `gilbench report`: results folder in, figures + report.md + index.html + means.csv out.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::aggregate::{aggregate, efficiencies, optima, FIXED};
use super::figures::{self, sweep::Metric, Outcome, Rendered};
use super::load::Dataset;
use super::{controllers, cpu_cost, means};
use super::hindsight::hindsight;
use super::tables::{self, Table};
use super::{html, markdown};

pub struct Options {
    pub out: PathBuf,
    /// criterion's output folder for the overhead figure, if any.
    pub criterion: Option<PathBuf>,
}

/// Everything a report holds, for the markdown and HTML renderers.
#[derive(Debug)]
pub struct Report {
    pub label: String,
    pub source: String,
    pub rows: usize,
    pub reading: Vec<String>,
    pub figures: Vec<Rendered>,
    /// (figure family, why it was not drawn).
    pub skipped: Vec<(&'static str, String)>,
    pub tables: Vec<Table>,
    pub out: PathBuf,
    pub seconds: f64,
}

/// The default folder of `gilbench report DIR`: DIR/report (beside a CSV file: <stem>-report).
pub fn default_out(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join("report")
    } else {
        input.with_extension("").with_file_name(format!(
            "{}-report",
            input.file_stem().map_or("points".into(), |s| s.to_string_lossy().into_owned())
        ))
    }
}

/// criterion's default output folder relative to the current directory, when it exists.
pub fn default_criterion() -> Option<PathBuf> {
    let p = PathBuf::from("target/criterion");
    p.is_dir().then_some(p)
}

pub fn write(input: &Path, opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let data = Dataset::load(input)?;
    let out = &opts.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let aggs = aggregate(&data.rows);
    means::write(&aggs, &out.join("means.csv"))?;
    let opts_ = optima(&aggs);
    let effs = efficiencies(&aggs, &opts_);
    let any_fixed = aggs.iter().any(|a| a.group.strategy == FIXED && a.group.threads > 0);

    let outcomes = [
        figures::sweep::by_workload(&aggs, Metric::Tps, out),
        figures::sweep::by_workload(&aggs, Metric::P99, out),
        figures::sweep::by_workload(&aggs, Metric::PerThread, out),
        figures::strategies::comparison(&aggs, out),
        figures::strategies::efficiency(&effs, any_fixed, out),
        figures::sweep::memory(&aggs, out),
        figures::timeline::timelines(&data.timelines, out),
        figures::heatmap::heatmap(&aggs, out),
        figures::sweep::sensitivity(&aggs, out),
        figures::overhead::overhead(opts.criterion.as_deref(), out),
    ];
    let (mut figs, mut skipped) = (Vec::new(), Vec::new());
    for o in outcomes {
        match o? {
            Outcome::Drawn(f) => figs.extend(f),
            Outcome::Skipped { family, reason } => skipped.push((family, reason)),
        }
    }
    let mut tbls = vec![tables::optima(&opts_)];
    tbls.extend(tables::cliffs_by_runtime(&aggs));
    if !effs.is_empty() {
        let hind = hindsight(&data.rows, &opts_);
        tbls.extend(controllers::pivot(&effs, &hind));
        tbls.extend(controllers::summary(&effs, &hind));
        tbls.extend(cpu_cost::table(&data.rows));
        tbls.push(tables::efficiency(&effs));
    }
    tbls.extend(tables::strategies(&aggs));
    tbls.push(tables::points(&aggs));
    let mut report = Report {
        label: data.label.clone(),
        source: data.points_csv.display().to_string(),
        rows: data.rows.len(),
        reading: tables::reading(&aggs, &effs)
            .into_iter()
            .chain(missing_note(&data.missing))
            .collect(),
        figures: figs,
        skipped,
        tables: tbls,
        out: out.clone(),
        seconds: 0.0,
    };
    std::fs::write(out.join("report.md"), markdown::render(&report)).context("writing report.md")?;
    std::fs::write(out.join("index.html"), html::render(&report)).context("writing index.html")?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A note on optional columns an older run lacks (`interpreter` is only ever filled for
/// real-CPython runtimes, so its absence says nothing).
fn missing_note(missing: &[&str]) -> Option<String> {
    let cols: Vec<&str> = missing.iter().copied().filter(|c| *c != "interpreter").collect();
    (!cols.is_empty()).then(|| format!("the file has no column {} (an older run?): those values are left empty", cols.join(", ")))
}

/// What `gilbench report` prints: the reading, the skipped figures, where it all is.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    for line in &r.reading {
        s.push_str(&format!("  {line}\n"));
    }
    for (family, reason) in &r.skipped {
        s.push_str(&format!("skipped {family}: {reason}\n"));
    }
    s.push_str(&format!(
        "report: {} figures (SVG + PNG), {}, {}, {} in {:.1} s\n",
        r.figures.len(),
        r.out.join("report.md").display(),
        r.out.join("index.html").display(),
        r.out.join("means.csv").display(),
        r.seconds
    ));
    s
}

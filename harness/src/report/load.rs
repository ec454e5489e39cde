//! Reading a results folder (or a bare points.csv) for reports: typed rows through
//! `results::read_rows`, and the controller timelines beside them.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::measure::{settling, TimelineRow};
use crate::results::{columns, read_rows, timeline_path, Row, POINTS_CSV};

/// One results source: a folder with points.csv (and maybe timelines/), or a CSV file.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// A short name for tables and legends (the folder's or file's name).
    pub label: String,
    pub points_csv: PathBuf,
    pub rows: Vec<Row>,
    pub timelines: Vec<Timeline>,
    /// Optional columns the file lacks (an older run): their figures and cells stay empty.
    pub missing: Vec<&'static str>,
}

/// Columns a report cannot do without; the other optional columns may be absent.
pub const REQUIRED: [&str; 9] = ["device", "runtime", "workload", "strategy", "threads", "rep", "status", "tps", "lat_p99_ms"];

/// One elastic point's controller intervals, `timelines/<point>.csv`.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The file stem: device_runtime_workload_strategy_N_rep.
    pub name: String,
    pub rows: Vec<TimelineRow>,
}

impl Dataset {
    pub fn load(path: &Path) -> anyhow::Result<Dataset> {
        let (points_csv, dir) = if path.is_dir() {
            (path.join(POINTS_CSV), Some(path.to_path_buf()))
        } else {
            (path.to_path_buf(), None)
        };
        if !points_csv.is_file() {
            anyhow::bail!(
                "{}: no such file (expected a results folder with {POINTS_CSV}, or a CSV file)",
                points_csv.display()
            );
        }
        let header = csv::Reader::from_path(&points_csv)
            .and_then(|mut r| r.headers().cloned())
            .with_context(|| format!("reading the header of {}", points_csv.display()))?;
        let missing: Vec<&'static str> = columns().iter().copied().filter(|c| !header.iter().any(|h| h == *c)).collect();
        if let Some(c) = missing.iter().find(|c| REQUIRED.contains(c)) {
            // serde would read a missing optional column as empty cells: say so instead.
            anyhow::bail!("{}: line 1 (the header) has no column `{c}`, which a report needs", points_csv.display());
        }
        let mut rows = read_rows(&points_csv)?;
        let timelines = match dir {
            Some(d) if d.join("timelines").is_dir() => read_timelines(&d.join("timelines"))?,
            _ => Vec::new(),
        };
        resettle(&mut rows, &timelines);
        let label = path
            .file_name()
            .map(|s| s.to_string_lossy().trim_end_matches(".csv").to_string())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Dataset { label, points_csv, rows, timelines, missing })
    }
}

/// Settling and steady TPS are derived from an elastic point's timeline: derive them again
/// here, so that a report applies today's definition (measure/timeline.rs) to older runs too.
fn resettle(rows: &mut [Row], timelines: &[Timeline]) {
    for row in rows.iter_mut() {
        let stem = timeline_path(&row.key()).file_stem().map(|s| s.to_string_lossy().into_owned());
        let Some(t) = timelines.iter().find(|t| Some(&t.name) == stem.as_ref()) else { continue };
        if let Some(s) = settling(&t.rows) {
            row.settle_s = Some(s.settle_s);
            row.steady_tps = Some(s.steady_tps);
        }
    }
}

fn read_timelines(dir: &Path) -> anyhow::Result<Vec<Timeline>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let mut r = csv::Reader::from_path(&f).with_context(|| format!("reading {}", f.display()))?;
        let rows = r
            .deserialize::<TimelineRow>()
            .enumerate()
            .map(|(i, rec)| rec.with_context(|| format!("{}: line {}", f.display(), i + 2)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(Timeline { name, rows });
    }
    Ok(out)
}

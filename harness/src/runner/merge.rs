//! `gilbench merge OUT DIR...`: the result folders of one sweep (its shards, or runs on
//! several machines) into one folder. Every point once, its timeline copied; a point found in
//! more than one input is kept once (its first `ok` row, else its first row) and reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::results::{read_rows, timeline_path, Manifest, Row, Status, Store, POINTS_CSV};
use crate::scenario::PointKey;

pub struct Merged {
    pub rows: usize,
    /// Points found in more than one input, with the folder whose row was kept.
    pub duplicates: Vec<(PointKey, PathBuf)>,
}

pub fn merge(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<Merged> {
    if inputs.is_empty() {
        bail!("nothing to merge: name at least one results folder");
    }
    let mut manifest: Option<Manifest> = None;
    // (input folder, row), in input order; `chosen` maps a key to its index in `kept`.
    let mut kept: Vec<(&Path, Row)> = Vec::new();
    let mut chosen: HashMap<PointKey, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for dir in inputs {
        let rows = read_rows(&dir.join(POINTS_CSV)).with_context(|| format!("reading {}", dir.display()))?;
        if let Some(m) = Manifest::read(dir) {
            match &mut manifest {
                None => manifest = Some(m),
                Some(first) if first.scenario_name != m.scenario_name => bail!(
                    "{} holds scenario {:?}, the first input holds {:?}: merge folders of one scenario",
                    dir.display(),
                    m.scenario_name,
                    first.scenario_name
                ),
                Some(first) => first.points_planned += m.points_planned,
            }
        }
        for row in rows {
            let key = row.key();
            match chosen.get(&key) {
                None => {
                    chosen.insert(key, kept.len());
                    kept.push((dir, row));
                }
                Some(&i) => {
                    // A rerun that succeeded beats an earlier failure.
                    if kept[i].1.status != Status::Ok && row.status == Status::Ok {
                        kept[i] = (dir, row);
                    }
                    duplicates.push((key, kept[i].0.to_path_buf()));
                }
            }
        }
    }
    let mut store = Store::create(out)?;
    for (dir, row) in &kept {
        store.append(row)?;
        let rel = timeline_path(&row.key());
        if dir.join(&rel).is_file() {
            std::fs::create_dir_all(out.join("timelines"))?;
            std::fs::copy(dir.join(&rel), out.join(&rel))
                .with_context(|| format!("copying {}", dir.join(&rel).display()))?;
        }
    }
    if let Some(mut m) = manifest {
        m.merged_from = inputs.iter().map(|d| d.display().to_string()).collect();
        m.write(out).context("writing manifest.json")?;
    }
    Ok(Merged { rows: kept.len(), duplicates })
}

//! points.csv, written a row at a time as points finish, and read back for --resume.
//! Each row goes out in a single write of a whole line, so a run killed mid-write leaves
//! at most one partial last line, which `open` cuts off.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::row::Row;
use crate::scenario::PointKey;

pub const POINTS_CSV: &str = "points.csv";

pub struct Store {
    path: PathBuf,
    file: File,
    done: HashSet<PointKey>,
    header_written: bool,
    /// The header already on disk, until the first append has checked it against ours.
    header_unchecked: Option<String>,
}

impl Store {
    /// A new results folder; refuses one that already has rows.
    pub fn create(dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(POINTS_CSV);
        if path.exists() && std::fs::metadata(&path)?.len() > 0 {
            bail!(
                "{} already has results: use --resume {} to complete it, or another --out",
                path.display(),
                dir.display()
            );
        }
        Self::open(dir)
    }

    /// Opens a folder for appending, reading the points it already has.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        let path = dir.join(POINTS_CSV);
        let mut done = HashSet::new();
        let mut header_written = false;
        if path.exists() {
            truncate_partial_line(&path)?;
            for row in read_rows(&path)? {
                done.insert(row.key());
            }
            header_written = std::fs::metadata(&path)?.len() > 0;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let header_unchecked = if header_written { Some(first_line(&path)?) } else { None };
        Ok(Store { path, file, done, header_written, header_unchecked })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn has(&self, key: &PointKey) -> bool {
        self.done.contains(key)
    }

    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    pub fn append(&mut self, row: &Row) -> anyhow::Result<()> {
        let mut w = csv::WriterBuilder::new().from_writer(vec![]);
        w.serialize(row)?;
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("encoding a row: {e}"))?;
        let header_end = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
        let bytes = if self.header_written {
            // Resuming a folder written by another version with other columns would mix
            // two layouts in one file. Checked once: every later row has the same columns.
            let ours = String::from_utf8_lossy(&bytes[..header_end]);
            if let Some(on_disk) = self.header_unchecked.take() {
                if on_disk.trim_end() != ours.trim_end() {
                    self.header_unchecked = Some(on_disk);
                    bail!(
                        "{} has the columns of another gilbench version; resume it with that \
                         version, or run into a new --out folder",
                        self.path.display()
                    );
                }
            }
            &bytes[header_end..]
        } else {
            &bytes[..]
        };
        self.file.write_all(bytes)?;
        self.file.sync_data()?;
        self.header_written = true;
        self.done.insert(row.key());
        Ok(())
    }
}

fn first_line(path: &Path) -> anyhow::Result<String> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(File::open(path)?).read_line(&mut line)?;
    Ok(line)
}

/// Where a point's timeline lives, relative to its results folder.
pub fn timeline_path(key: &PointKey) -> PathBuf {
    Path::new("timelines").join(format!("{}.csv", key.to_string().replace('/', "_")))
}

/// Writes an elastic pool's controller timeline to `timelines/<point key>.csv` in `dir`.
pub fn write_timeline(
    dir: &Path,
    key: &PointKey,
    rows: &[crate::measure::TimelineRow],
) -> anyhow::Result<PathBuf> {
    let path = dir.join(timeline_path(key));
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut w = csv::Writer::from_path(&path).with_context(|| format!("writing {}", path.display()))?;
    for r in rows {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(path)
}

/// Every row of a points.csv; a malformed row is an error naming its line and column.
pub fn read_rows(path: &Path) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers().with_context(|| format!("{}: reading the header", path.display()))?.clone();
    let mut rows = Vec::new();
    for (i, rec) in r.deserialize::<Row>().enumerate() {
        rows.push(rec.map_err(|e| anyhow::anyhow!("{}: line {}{}", path.display(), i + 2, explain(&e, &headers)))?);
    }
    Ok(rows)
}

/// The column and the problem of a CSV error, in words a user can act on.
fn explain(e: &csv::Error, headers: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err.field().and_then(|f| headers.get(f as usize));
            match (column, err.kind()) {
                (Some(c), kind) => format!(", column `{c}`: {kind}"),
                // serde names a missing field itself ("missing field `tps`").
                (None, kind) => format!(": {kind} (the header has no such column)"),
            }
        }
        _ => format!(": {e}"),
    }
}

/// The columns of points.csv, in order: `Row`'s fields as serde passes them to
/// `deserialize_struct`. Optional columns may be missing from a file (older runs wrote
/// fewer); callers that need one check for it here.
pub fn columns() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("probe"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = <Row as serde::Deserialize>::deserialize(Probe(&mut fields));
    fields
}

fn truncate_partial_line(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path)?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    OpenOptions::new().write(true).open(path)?.set_len(keep as u64)?;
    Ok(())
}

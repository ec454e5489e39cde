//! TOML -> [`Scenario`]: read the main file and its includes, check every value, resolve the
//! sweep's references. Every error names the file, line and column (1-based) it is about.

mod raw;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::Spanned;

use self::raw::{
    IncludedFile, MainFile, NameList, Named, RawArrival, RawDevice, RawRuntime, RawSweep,
    RawTasks, RawThreads, RawWorkload, RuntimeKind,
};
use super::model::{
    Arrival, Device, RuntimeSpec, Scenario, StrategySpec, Sweep, TaskBudget, Workload,
};

const DEFAULT_SEED: u64 = 1;
const DEFAULT_REPETITIONS: u32 = 1;
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);
const DEFAULT_TASKS: TaskBudget = TaskBudget::Count(1000);
const DEFAULT_ARRIVAL: Arrival = Arrival::Batch;

/// Runtimes every scenario has without defining them.
pub(super) fn builtin_runtimes() -> [(&'static str, RuntimeSpec); 2] {
    [
        ("gil", RuntimeSpec::Gil { switch_interval_us: RuntimeSpec::DEFAULT_SWITCH_INTERVAL_US }),
        ("free-threaded", RuntimeSpec::FreeThreaded),
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Something wrong at a place in a scenario file (the main file or an included one).
    #[error("{file}:{line}:{column}: {message}", file = file.display())]
    At { file: PathBuf, line: usize, column: usize, message: String },
    /// The main file could not be read.
    #[error("{file}: {message}", file = file.display())]
    File { file: PathBuf, message: String },
}

/// Reads, checks and resolves the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::File {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let src = Source { path, text: &text };
    let main: MainFile = src.parse(false)?;

    let mut loader = Loader::default();
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    loader.sources.push((path.to_path_buf(), text.clone()));
    loader.loaded.insert(canonical.clone());
    loader.stack.push((canonical, path.to_path_buf()));
    loader.include(&src, &main.include)?;
    loader.define(&src, main.devices, main.runtimes, main.workloads)?;

    let name = match &main.name {
        Some(n) => {
            if n.get_ref().trim().is_empty() || n.get_ref().contains(['/', '\\']) {
                return Err(src.at(
                    n.span(),
                    format!("name: expected a non-empty name without '/', got {:?}", n.get_ref()),
                ));
            }
            n.get_ref().clone()
        }
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_string()),
    };

    let Some(raw_sweep) = main.sweep else {
        return Err(src.at(
            0..0,
            "missing table [sweep] (it says what to run: devices, runtimes, workloads and threads)",
        ));
    };
    let sweep = loader.sweep(&src, raw_sweep)?;

    let Loader { sources, devices, runtimes, workloads, .. } = loader;
    Ok(Scenario {
        name,
        path: path.to_path_buf(),
        sources,
        seed: main.seed.map_or(DEFAULT_SEED, |s| s.0),
        repetitions: main.repetitions.map_or(DEFAULT_REPETITIONS, |r| r.0),
        time_limit: main.time_limit_s.map_or(DEFAULT_TIME_LIMIT, |t| t.0),
        tasks: main.tasks.map_or(DEFAULT_TASKS, tasks),
        arrival: main.arrival.map_or(DEFAULT_ARRIVAL, arrival),
        devices: devices.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        runtimes: runtimes.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        workloads: workloads.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        sweep,
    })
}

/// A file being read: where errors in it point.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn loc(&self, span: Range<usize>) -> Loc {
        let (line, column) = position(self.text, span.start);
        Loc { file: self.path.to_path_buf(), line, column }
    }

    fn at(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let Loc { file, line, column } = self.loc(span);
        ScenarioError::At { file, line, column, message: message.into() }
    }

    fn parse<T: DeserializeOwned>(&self, included: bool) -> Result<T, ScenarioError> {
        toml::from_str(self.text).map_err(|e| {
            let mut message = e.message().trim_end().to_string();
            if included && message.starts_with("unknown field") {
                message.push_str(
                    " (an included file may only hold include, [devices.*], [runtimes.*] and \
                     [workloads.*]; [sweep] and settings belong in the main file)",
                );
            }
            self.at(e.span().unwrap_or(0..0), message)
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// A place in a file, for messages that name a second place.
#[derive(Debug, Clone)]
struct Loc {
    file: PathBuf,
    line: usize,
    column: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Definitions gathered from all files, each with where it was defined.
#[derive(Default)]
struct Loader {
    sources: Vec<(PathBuf, String)>,
    /// Canonical paths of files read so far (a file included twice is read once).
    loaded: HashSet<PathBuf>,
    /// Files being read, outermost first: (canonical, as shown), for cycle detection.
    stack: Vec<(PathBuf, PathBuf)>,
    devices: BTreeMap<String, (Device, Loc)>,
    runtimes: BTreeMap<String, (RuntimeSpec, Loc)>,
    workloads: BTreeMap<String, (Workload, Loc)>,
}

impl Loader {
    /// Reads the files `src` includes (depth first, each before its includer's definitions).
    fn include(&mut self, src: &Source, includes: &[Spanned<String>]) -> Result<(), ScenarioError> {
        let base = src.path.parent().unwrap_or(Path::new(""));
        for inc in includes {
            let shown = base.join(inc.get_ref());
            let unreadable = |e: std::io::Error| {
                src.at(
                    inc.span(),
                    format!(
                        "cannot read included file {:?} ({}): {e}",
                        inc.get_ref(),
                        shown.display()
                    ),
                )
            };
            let canonical = std::fs::canonicalize(&shown).map_err(unreadable)?;
            if let Some(i) = self.stack.iter().position(|(c, _)| *c == canonical) {
                let chain: Vec<String> = self.stack[i..]
                    .iter()
                    .map(|(_, p)| p.display().to_string())
                    .chain(std::iter::once(shown.display().to_string()))
                    .collect();
                return Err(src.at(
                    inc.span(),
                    format!("include cycle: {}", chain.join(" -> ")),
                ));
            }
            if !self.loaded.insert(canonical.clone()) {
                continue;
            }
            let text = std::fs::read_to_string(&shown).map_err(unreadable)?;
            let child = Source { path: &shown, text: &text };
            let file: IncludedFile = child.parse(true)?;
            self.sources.push((shown.clone(), text.clone()));
            self.stack.push((canonical, shown.clone()));
            self.include(&child, &file.include)?;
            self.define(&child, file.devices, file.runtimes, file.workloads)?;
            self.stack.pop();
        }
        Ok(())
    }

    fn define(
        &mut self,
        src: &Source,
        devices: Named<RawDevice>,
        runtimes: Named<RawRuntime>,
        workloads: Named<RawWorkload>,
    ) -> Result<(), ScenarioError> {
        for (name, raw) in devices.0 {
            let loc = check_new(src, "device", &name, &self.devices)?;
            let device = Device {
                name: name.get_ref().clone(),
                cpus: raw.cpus.0,
                memory_mb: raw.memory_mb.map(|m| m.0),
                cpu_quota: raw.cpu_quota.map(|q| q.0),
            };
            self.devices.insert(name.into_inner(), (device, loc));
        }
        for (name, raw) in runtimes.0 {
            if builtin_runtimes().iter().any(|(b, _)| b == name.get_ref()) {
                return Err(src.at(
                    name.span(),
                    format!(
                        "runtime {:?} is built in and cannot be redefined; pick another name \
                         (e.g. \"{}-custom\")",
                        name.get_ref(),
                        name.get_ref()
                    ),
                ));
            }
            let loc = check_new(src, "runtime", &name, &self.runtimes)?;
            let spec = runtime(src, &raw)?;
            self.runtimes.insert(name.into_inner(), (spec, loc));
        }
        for (name, raw) in workloads.0 {
            let loc = check_new(src, "workload", &name, &self.workloads)?;
            if raw.phases.get_ref().is_empty() {
                return Err(src.at(
                    raw.phases.span(),
                    format!(
                        "workload {:?}: expected at least one phase, e.g. \
                         [{{ cpu = {{ kernel = \"arith\", work_us = 25 }} }}]",
                        name.get_ref()
                    ),
                ));
            }
            let workload = Workload {
                name: name.get_ref().clone(),
                description: raw.description,
                phases: raw.phases.into_inner(),
                tasks: raw.tasks.map(tasks),
                arrival: raw.arrival.map(arrival),
            };
            self.workloads.insert(name.into_inner(), (workload, loc));
        }
        Ok(())
    }

    fn sweep(&self, src: &Source, raw: RawSweep) -> Result<Sweep, ScenarioError> {
        let runtime_names: Vec<&str> = builtin_runtimes()
            .iter()
            .map(|(n, _)| *n)
            .chain(self.runtimes.keys().map(String::as_str))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let devices = names(src, "devices", "device", &raw.devices, self.devices.keys().map(String::as_str))?;
        let runtimes = names(src, "runtimes", "runtime", &raw.runtimes, runtime_names.into_iter())?;
        let workloads =
            names(src, "workloads", "workload", &raw.workloads, self.workloads.keys().map(String::as_str))?;

        let strategies = match raw.strategies {
            None => vec![StrategySpec::Fixed],
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(src.at(
                        list.span(),
                        "sweep.strategies: expected at least one strategy, e.g. [\"fixed\"]",
                    ));
                }
                let mut out: Vec<StrategySpec> = Vec::new();
                for s in list.get_ref() {
                    if out.contains(s.get_ref()) {
                        return Err(src.at(
                            s.span(),
                            format!("sweep.strategies: {:?} is listed twice", s.get_ref().name()),
                        ));
                    }
                    out.push(s.get_ref().clone());
                }
                out
            }
        };

        let threads = threads(src, raw.threads)?;
        Ok(Sweep { devices, runtimes, workloads, strategies, threads })
    }
}

/// Checks a new definition's name (allowed characters, not defined before) and returns where
/// it is.
fn check_new<T>(
    src: &Source,
    what: &str,
    name: &Spanned<String>,
    defined: &BTreeMap<String, (T, Loc)>,
) -> Result<Loc, ScenarioError> {
    let n = name.get_ref();
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(src.at(
            name.span(),
            format!("{what} name {n:?}: expected letters, digits, '-', '_' or '.' only"),
        ));
    }
    if let Some((_, first)) = defined.get(n) {
        return Err(src.at(
            name.span(),
            format!("{what} {n:?} is defined twice: first at {first}, again here"),
        ));
    }
    Ok(src.loc(name.span()))
}

fn runtime(src: &Source, raw: &RawRuntime) -> Result<RuntimeSpec, ScenarioError> {
    match raw.kind {
        RuntimeKind::FreeThreaded => match &raw.switch_interval_ms {
            Some(s) => Err(src.at(
                s.span(),
                "switch_interval_ms applies only to kind = \"gil\" (a free-threaded runtime has no lock)",
            )),
            None => Ok(RuntimeSpec::FreeThreaded),
        },
        RuntimeKind::Gil => {
            let switch_interval_us = match &raw.switch_interval_ms {
                None => RuntimeSpec::DEFAULT_SWITCH_INTERVAL_US,
                Some(ms) => {
                    let us = (ms.get_ref().0 * 1000.0).round();
                    if us < 1.0 {
                        return Err(src.at(
                            ms.span(),
                            format!(
                                "expected a switch interval of at least 0.001 ms (1 us), got {}",
                                ms.get_ref().0
                            ),
                        ));
                    }
                    // Saturating: a silly large interval stays large rather than wrapping.
                    us as u64
                }
            };
            Ok(RuntimeSpec::Gil { switch_interval_us })
        }
    }
}

fn tasks(raw: RawTasks) -> TaskBudget {
    match raw {
        RawTasks::Count(n) => TaskBudget::Count(n.0),
        RawTasks::DurationS(d) => TaskBudget::Duration(d.0),
    }
}

fn arrival(raw: RawArrival) -> Arrival {
    match raw {
        RawArrival::Batch => Arrival::Batch,
        RawArrival::Poisson { rate_tps } => Arrival::Poisson { rate_tps: rate_tps.0 },
    }
}

/// Resolves a list of references from `[sweep]`: non-empty, each defined, none twice.
fn names<'a>(
    src: &Source,
    key: &str,
    what: &str,
    list: &NameList,
    defined: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, ScenarioError> {
    let defined: Vec<&str> = defined.collect();
    if list.get_ref().is_empty() {
        return Err(src.at(list.span(), format!("sweep.{key}: expected at least one {what}")));
    }
    let mut out: Vec<String> = Vec::new();
    for item in list.get_ref() {
        let n = item.get_ref();
        if !defined.contains(&n.as_str()) {
            let known = if defined.is_empty() { "none".to_string() } else { defined.join(", ") };
            return Err(src.at(
                item.span(),
                format!("sweep.{key}: no {what} named {n:?} (defined: {known})"),
            ));
        }
        if out.contains(n) {
            return Err(src.at(item.span(), format!("sweep.{key}: {n:?} is listed twice")));
        }
        out.push(n.clone());
    }
    Ok(out)
}

fn threads(src: &Source, raw: Spanned<RawThreads>) -> Result<Vec<u32>, ScenarioError> {
    let span = raw.span();
    match raw.into_inner() {
        RawThreads::List(list) => {
            if list.is_empty() {
                return Err(src.at(
                    span,
                    "sweep.threads: expected at least one thread count, e.g. [1, 4, 32]",
                ));
            }
            let mut out: Vec<u32> = Vec::new();
            for n in &list {
                let v = n.get_ref().0;
                if out.contains(&v) {
                    return Err(src.at(n.span(), format!("sweep.threads: {v} is listed twice")));
                }
                out.push(v);
            }
            Ok(out)
        }
        RawThreads::Pow2(ends) => {
            let [from, to] = ends.get_ref().as_slice() else {
                return Err(src.at(
                    ends.span(),
                    format!(
                        "sweep.threads: expected pow2 = [from, to] (two powers of two), got {} values",
                        ends.get_ref().len()
                    ),
                ));
            };
            let (lo, hi) = (from.get_ref().0, to.get_ref().0);
            if lo > hi {
                return Err(src.at(
                    ends.span(),
                    format!("sweep.threads: expected pow2 = [from, to] with from <= to, got [{lo}, {hi}]"),
                ));
            }
            Ok(std::iter::successors(Some(lo), |n| n.checked_mul(2)).take_while(|n| *n <= hi).collect())
        }
    }
}

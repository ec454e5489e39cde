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
    IncludedFile, MainFile, NameList, Named, RawArrival, RawDevice, RawOnnx, RawRuntime, RawSweep, RawTasks,
    RawThreads, RawWorkload, RuntimeKind,
};
use super::glob::glob;
use super::model::{
    Arrival, Device, OnnxConfig, RuntimeSpec, Scenario, StrategySpec, Sweep, TaskBudget, Workload,
};

const DEFAULT_SEED: u64 = 1;
const DEFAULT_REPETITIONS: u32 = 1;
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);
const DEFAULT_TASKS: TaskBudget = TaskBudget::Count(1000);
const DEFAULT_ARRIVAL: Arrival = Arrival::Batch;

/// Runtimes every scenario has without defining them (the emulated ones).
pub(super) fn builtin_runtimes() -> Vec<(String, RuntimeSpec)> {
    vec![
        (
            "gil".to_string(),
            RuntimeSpec::Gil {
                switch_interval_us: RuntimeSpec::DEFAULT_SWITCH_INTERVAL_US,
            },
        ),
        ("free-threaded".to_string(), RuntimeSpec::FreeThreaded),
    ]
}

/// Runtimes a sweep may name without defining them: `cpython-X.Y` (`cpython-X.Yt` for a
/// free-threaded build) for every CPython 3.9+ that pyenv has on this machine, so that
/// `runtimes = ["cpython-*"]` means "every interpreter here".
fn pyenv_runtimes() -> Vec<(String, RuntimeSpec)> {
    pyenv_versions()
        .into_iter()
        .map(|v| (format!("cpython-{v}"), RuntimeSpec::Cpython { interpreter: v }))
        .collect()
}

/// "X.Y" (or "X.Yt") for each CPython 3.9+ under pyenv's versions folder ($PYENV_ROOT, else
/// ~/.pyenv), sorted by version, each once.
fn pyenv_versions() -> Vec<String> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let Some(dir) = root.map(|r| r.join("versions")) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, u32, bool)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (num, t) = match name.strip_suffix('t') {
                Some(n) => (n.to_string(), true),
                None => (name, false),
            };
            let mut parts = num.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            parts.next()?.parse::<u32>().ok()?;
            // The driver needs 3.9 or later (scripts/setup-cpython checks the same).
            (major == 3 && minor >= 9).then_some((major, minor, t))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .into_iter()
        .map(|(a, b, t)| format!("{a}.{b}{}", if t { "t" } else { "" }))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Something wrong at a place in a scenario file (the main file or an included one).
    #[error("{file}:{line}:{column}: {message}", file = file.display())]
    At {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
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

    let mut loader = Loader {
        pyenv: pyenv_runtimes(),
        ..Loader::default()
    };
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
                    format!(
                        "name: expected a non-empty name without '/', got {:?}",
                        n.get_ref()
                    ),
                ));
            }
            n.get_ref().clone()
        }
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_string()),
    };

    let raw_sweeps = match main.sweep {
        Some(s) if !s.0.is_empty() => s.0,
        _ => {
            return Err(src.at(
                0..0,
                "missing table [sweep] (it says what to run: devices, runtimes, workloads and threads)",
            ))
        }
    };
    let sweeps = raw_sweeps
        .into_iter()
        .map(|raw| loader.sweep(&src, raw))
        .collect::<Result<Vec<_>, _>>()?;
    let onnx = onnx_config(&src, main.onnx)?;

    let Loader {
        sources,
        devices,
        runtimes,
        workloads,
        pyenv,
        ..
    } = loader;
    // pyenv's interpreters only where a sweep names them and the file does not define them.
    let used = |n: &String| sweeps.iter().any(|s| s.runtimes.contains(n)) && !runtimes.contains_key(n);
    let discovered: Vec<(String, RuntimeSpec)> = pyenv.into_iter().filter(|(n, _)| used(n)).collect();
    let runtimes = builtin_runtimes()
        .into_iter()
        .chain(discovered)
        .chain(runtimes.into_iter().map(|(k, (v, _))| (k, v)))
        .collect();
    Ok(Scenario {
        name,
        path: path.to_path_buf(),
        sources,
        seed: main.seed.map_or(DEFAULT_SEED, |s| s.0),
        repetitions: main.repetitions.map_or(DEFAULT_REPETITIONS, |r| r.0),
        time_limit: main.time_limit_s.map_or(DEFAULT_TIME_LIMIT, |t| t.0),
        tasks: main.tasks.map_or(DEFAULT_TASKS, tasks),
        arrival: main.arrival.map_or(DEFAULT_ARRIVAL, arrival),
        onnx,
        devices: devices.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        runtimes,
        workloads: workloads.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        sweeps,
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
        Loc {
            file: self.path.to_path_buf(),
            line,
            column,
        }
    }

    fn at(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let Loc { file, line, column } = self.loc(span);
        ScenarioError::At {
            file,
            line,
            column,
            message: message.into(),
        }
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
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
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
    /// pyenv's interpreters, read once per load (see `pyenv_runtimes`).
    pyenv: Vec<(String, RuntimeSpec)>,
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
                return Err(src.at(inc.span(), format!("include cycle: {}", chain.join(" -> "))));
            }
            if !self.loaded.insert(canonical.clone()) {
                continue;
            }
            let text = std::fs::read_to_string(&shown).map_err(unreadable)?;
            let child = Source {
                path: &shown,
                text: &text,
            };
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
            let spec = runtime(src, &name, &raw)?;
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
        let builtin = builtin_runtimes();
        let runtime_names: Vec<&str> = builtin
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.runtimes.keys().map(String::as_str))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let devices = names(
            src,
            "devices",
            "device",
            &raw.devices,
            self.devices.keys().map(String::as_str),
            std::iter::empty(),
        )?;
        let runtimes = names(
            src,
            "runtimes",
            "runtime",
            &raw.runtimes,
            runtime_names.into_iter(),
            self.pyenv.iter().map(|(n, _)| n.as_str()),
        )?;
        let workloads = names(
            src,
            "workloads",
            "workload",
            &raw.workloads,
            self.workloads.keys().map(String::as_str),
            std::iter::empty(),
        )?;

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
                    if out.iter().any(|o| o.label() == s.get_ref().label()) {
                        return Err(src.at(
                            s.span(),
                            format!("sweep.strategies: {:?} is listed twice", s.get_ref().label()),
                        ));
                    }
                    if *s.get_ref() == StrategySpec::FixedBest && !out.contains(&StrategySpec::Fixed) {
                        return Err(src.at(
                            s.span(),
                            "sweep.strategies: \"fixed-best\" measures again the best of the sweep's fixed \
                             pools, so \"fixed\" must be listed before it",
                        ));
                    }
                    out.push(s.get_ref().clone());
                }
                out
            }
        };

        let threads = threads(src, raw.threads)?;
        Ok(Sweep {
            name: raw.name.map(|n| n.into_inner()),
            repetitions: raw.repetitions.map(|r| r.0),
            devices,
            runtimes,
            workloads,
            strategies,
            threads,
        })
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
    if n.is_empty()
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
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

fn runtime(
    src: &Source,
    name: &Spanned<String>,
    raw: &RawRuntime,
) -> Result<RuntimeSpec, ScenarioError> {
    let kind = match (&raw.kind, &raw.cpython) {
        (Some(k), Some(_)) if *k.get_ref() != RuntimeKind::Cpython => {
            return Err(src.at(
                k.span(),
                "`cpython = ...` names a real interpreter: drop `kind` or set kind = \"cpython\"",
            ))
        }
        (Some(k), _) => *k.get_ref(),
        (None, Some(_)) => RuntimeKind::Cpython,
        (None, None) => {
            return Err(src.at(
                name.span(),
                format!(
                    "runtime {:?}: expected kind = \"gil\" or \"free-threaded\", or cpython = \"<version or path>\" (e.g. cpython = \"3.12\")",
                    name.get_ref()
                ),
            ))
        }
    };
    match kind {
        RuntimeKind::Cpython => {
            if let Some(s) = &raw.switch_interval_ms {
                return Err(src.at(
                    s.span(),
                    "switch_interval_ms applies only to kind = \"gil\" (a real interpreter keeps its own)",
                ));
            }
            match &raw.cpython {
                Some(i) if !i.get_ref().trim().is_empty() => Ok(RuntimeSpec::Cpython {
                    interpreter: i.get_ref().trim().to_string(),
                }),
                Some(i) => Err(src.at(
                    i.span(),
                    "expected an interpreter version (e.g. \"3.12\") or path, got an empty string",
                )),
                None => Err(src.at(
                    name.span(),
                    "kind = \"cpython\" needs cpython = \"<version or path>\", e.g. cpython = \"3.12\"",
                )),
            }
        }
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
        RawArrival::Poisson { rate_tps } => Arrival::Poisson {
            rate_tps: rate_tps.0,
        },
        RawArrival::Bursty { rate_tps, burst } => Arrival::Bursty {
            rate_tps: rate_tps.0,
            burst: burst.0,
        },
    }
}

/// `[onnx]`: a model path is resolved against the scenario's folder and must exist.
fn onnx_config(src: &Source, raw: Option<RawOnnx>) -> Result<OnnxConfig, ScenarioError> {
    let Some(raw) = raw else { return Ok(OnnxConfig::default()) };
    let model = match raw.model {
        None => None,
        Some(m) => {
            let path = src.path.parent().unwrap_or(Path::new("")).join(m.get_ref());
            if !path.is_file() {
                return Err(src.at(
                    m.span(),
                    format!("onnx.model: no file at {} (relative to this scenario file)", path.display()),
                ));
            }
            Some(path)
        }
    };
    Ok(OnnxConfig {
        model,
        intra_op_threads: raw.intra_op_threads.map_or(1, |t| t.0),
    })
}

/// Resolves a list of references from `[sweep]`: non-empty, each defined, none twice; a
/// name with `*` stands for every defined name it matches (at least one).
fn names<'a>(
    src: &Source,
    key: &str,
    what: &str,
    list: &NameList,
    defined: impl Iterator<Item = &'a str>,
    // Names that need no definition but are not worth listing in errors (pyenv's).
    implicit: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, ScenarioError> {
    let shown: Vec<&str> = defined.collect();
    let defined: Vec<&str> = shown.iter().copied().chain(implicit).collect();
    if list.get_ref().is_empty() {
        return Err(src.at(
            list.span(),
            format!("sweep.{key}: expected at least one {what}"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for item in list.get_ref() {
        let n = item.get_ref();
        if n.contains('*') {
            let matching: Vec<&str> = defined.iter().copied().filter(|d| glob(n, d)).collect();
            if matching.is_empty() {
                return Err(src.at(
                    item.span(),
                    format!("sweep.{key}: no {what} matches {n:?} (defined: {})", shown.join(", ")),
                ));
            }
            for m in matching {
                if !out.iter().any(|o| o == m) {
                    out.push(m.to_string());
                }
            }
            continue;
        }
        if !defined.contains(&n.as_str()) {
            let known = if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            };
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
            Ok(std::iter::successors(Some(lo), |n| n.checked_mul(2))
                .take_while(|n| *n <= hi)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::{Kernel, Latency, NonNeg, Phase, Work};

    /// A temporary folder of scenario files.
    struct Files(tempfile::TempDir);

    impl Files {
        fn new() -> Files {
            Files(tempfile::tempdir().expect("temp dir"))
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&path, text).expect("write");
            path
        }

        /// The error of loading `name`, with the folder prefix removed from paths.
        fn err(&self, name: &str) -> String {
            let prefix = format!("{}/", self.0.path().display());
            match load(&self.0.path().join(name)) {
                Ok(_) => panic!("expected an error loading {name}"),
                Err(e) => e.to_string().replace(&prefix, ""),
            }
        }
    }

    /// The error of loading `text` as `main.toml`.
    fn err(text: &str) -> String {
        let f = Files::new();
        f.write("main.toml", text);
        f.err("main.toml")
    }

    const SWEEP: &str = r#"
[devices.d]
cpus = 1

[workloads.w]
phases = [{ cpu = { kernel = "arith", work_us = 10 } }]

[sweep]
devices = ["d"]
runtimes = ["gil"]
workloads = ["w"]
threads = [1]
"#;

    const MAIN: &str = r#"include = ["devices/edge.toml", "workloads/paper.toml"]
seed = 42
repetitions = 2
time_limit_s = 60
tasks = { count = 3000 }

[runtimes.gil-1ms]
kind = "gil"
switch_interval_ms = 1.0

[runtimes.nogil]
kind = "free-threaded"

[runtimes.py312]
cpython = "3.12"

[workloads.micro]
description = "a bit of everything"
phases = [
  { cpu = { kernel = "arith", work_us = 25 } },
  { io = { fixed_ms = 0.1 } },
  { io = { uniform_ms = [5, 15] } },
  { io = { lognormal = { median_ms = 30, sigma = 0.8 } } },
  { native = { kernel = "matmul", work_us = 3000 } },
  { alloc = { mb = 64 } },
]
tasks = { duration_s = 2 }
arrival = { poisson = { rate_tps = 200 } }

[sweep]
devices = ["edge-1c", "edge-2c"]
runtimes = ["gil", "free-threaded", "gil-1ms"]
workloads = ["micro", "paper"]
strategies = ["fixed"]
threads = { pow2 = [1, 2048] }
"#;

    const EDGE: &str = r#"[devices.edge-1c]
cpus = 1
memory_mb = 512

[devices.edge-2c]
cpus = 2
cpu_quota = 1.5
"#;

    const PAPER: &str = r#"[workloads.paper]
phases = [{ cpu = { kernel = "json", work_us = 100 } }, { io = { fixed_ms = 10 } }]
"#;

    fn full() -> (Files, Scenario) {
        let f = Files::new();
        let main = f.write("quick.toml", MAIN);
        f.write("devices/edge.toml", EDGE);
        f.write("workloads/paper.toml", PAPER);
        let sc = load(&main).unwrap_or_else(|e| panic!("{e}"));
        (f, sc)
    }

    #[test]
    fn full_scenario_round_trip() {
        let (f, sc) = full();
        assert_eq!(sc.name, "quick");
        assert_eq!(sc.path, f.0.path().join("quick.toml"));
        assert_eq!(sc.seed, 42);
        assert_eq!(sc.repetitions, 2);
        assert_eq!(sc.time_limit, Duration::from_secs(60));
        assert_eq!(sc.tasks, TaskBudget::Count(3000));
        assert_eq!(sc.arrival, Arrival::Batch);

        let files: Vec<PathBuf> = sc.sources.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(
            files,
            vec![
                f.0.path().join("quick.toml"),
                f.0.path().join("devices/edge.toml"),
                f.0.path().join("workloads/paper.toml"),
            ]
        );
        assert_eq!(sc.sources[1].1, EDGE);

        assert_eq!(
            sc.devices["edge-1c"],
            Device {
                name: "edge-1c".into(),
                cpus: 1,
                memory_mb: Some(512),
                cpu_quota: None
            }
        );
        assert_eq!(
            sc.devices["edge-2c"],
            Device {
                name: "edge-2c".into(),
                cpus: 2,
                memory_mb: None,
                cpu_quota: Some(1.5)
            }
        );

        assert_eq!(sc.runtimes.len(), 5);
        assert_eq!(
            sc.runtimes["gil"],
            RuntimeSpec::Gil {
                switch_interval_us: 5000
            }
        );
        assert_eq!(sc.runtimes["free-threaded"], RuntimeSpec::FreeThreaded);
        assert_eq!(
            sc.runtimes["gil-1ms"],
            RuntimeSpec::Gil {
                switch_interval_us: 1000
            }
        );
        assert_eq!(sc.runtimes["nogil"], RuntimeSpec::FreeThreaded);
        assert_eq!(
            sc.runtimes["py312"],
            RuntimeSpec::Cpython {
                interpreter: "3.12".into()
            }
        );

        let micro = &sc.workloads["micro"];
        assert_eq!(micro.description.as_deref(), Some("a bit of everything"));
        assert_eq!(micro.phases.len(), 6);
        assert_eq!(
            micro.phases[0],
            Phase::Cpu(Work {
                kernel: Kernel::Arith,
                work_us: NonNeg(25.0)
            })
        );
        assert_eq!(micro.phases[1], Phase::Io(Latency::FixedMs(NonNeg(0.1))));
        assert_eq!(
            micro.tasks,
            Some(TaskBudget::Duration(Duration::from_secs(2)))
        );
        assert_eq!(micro.arrival, Some(Arrival::Poisson { rate_tps: 200.0 }));
        let paper = &sc.workloads["paper"];
        assert_eq!(paper.tasks, None);
        assert_eq!(paper.arrival, None);
        assert_eq!(paper.description, None);

        assert_eq!(sc.sweeps[0].devices, ["edge-1c", "edge-2c"]);
        assert_eq!(sc.sweeps[0].runtimes, ["gil", "free-threaded", "gil-1ms"]);
        assert_eq!(sc.sweeps[0].workloads, ["micro", "paper"]);
        assert_eq!(sc.sweeps[0].strategies, [StrategySpec::Fixed]);
        assert_eq!(
            sc.sweeps[0].threads,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
        );
    }

    #[test]
    fn defaults_and_explicit_thread_list() {
        let f = Files::new();
        let main = f.write(
            "dir/my-scenario.toml",
            &SWEEP.replace("threads = [1]", "threads = [32, 1, 4]"),
        );
        let sc = load(&main).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.name, "my-scenario");
        assert_eq!(sc.seed, 1);
        assert_eq!(sc.repetitions, 1);
        assert_eq!(sc.time_limit, Duration::from_secs(120));
        assert_eq!(sc.tasks, TaskBudget::Count(1000));
        assert_eq!(sc.arrival, Arrival::Batch);
        assert_eq!(sc.sweeps[0].strategies, [StrategySpec::Fixed]);
        assert_eq!(sc.sweeps[0].threads, [32, 1, 4]);
        assert_eq!(sc.runtimes.len(), 2);
        assert_eq!(sc.sources.len(), 1);

        let named = f.write("named.toml", &format!("name = \"paper-fig3\"\n{SWEEP}"));
        assert_eq!(
            load(&named).map(|s| s.name).ok().as_deref(),
            Some("paper-fig3")
        );
    }

    #[test]
    fn pow2_single_point_range() {
        let f = Files::new();
        let main = f.write(
            "m.toml",
            &SWEEP.replace("threads = [1]", "threads = { pow2 = [64, 64] }"),
        );
        assert_eq!(load(&main).map(|s| s.sweeps[0].threads.clone()).ok(), Some(vec![64]));
    }

    #[test]
    fn missing_main_file_is_a_file_error() {
        let f = Files::new();
        let path = f.0.path().join("absent.toml");
        match load(&path) {
            Err(ScenarioError::File { file, message }) => {
                assert_eq!(file, path);
                assert!(message.contains("No such file"), "{message}");
            }
            other => panic!("expected a File error, got {other:?}"),
        }
    }

    #[test]
    fn toml_syntax_error() {
        assert_eq!(
            err("seed = 1\nname = quick\n"),
            "main.toml:2:8: string values must be quoted, expected literal string"
        );
        let dup = err("[devices.a]\ncpus = 1\n\n[devices.a]\ncpus = 2\n");
        assert!(dup.starts_with("main.toml:4:"), "{dup}");
        assert!(dup.contains("duplicate"), "{dup}");
    }

    #[test]
    fn unknown_keys() {
        assert!(err("seed = 1\nsed = 2\n").starts_with(
            "main.toml:2:1: unknown field `sed`, expected one of `name`, `include`, `seed`,"
        ));
        assert_eq!(
            err("[devices.a]\ncpus = 1\nram_mb = 2\n"),
            "main.toml:3:1: unknown field `ram_mb`, expected one of `cpus`, `memory_mb`, `cpu_quota`"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [{ cpu = { kernel = \"arith\", work = 1 } }]\n"),
            "main.toml:2:39: unknown field `work`, expected `kernel` or `work_us`"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"gil\"\nswitch_ms = 1\n"),
            "main.toml:3:1: unknown field `switch_ms`, expected one of `kind`, `switch_interval_ms`, `cpython`"
        );
        assert_eq!(
            err("tasks = { seconds = 3 }\n"),
            "main.toml:1:11: unknown field `seconds`, expected `count` or `duration_s`"
        );
        assert_eq!(
            err("arrival = { poisson = { rate = 1 } }\n"),
            "main.toml:1:25: unknown field `rate`, expected `rate_tps`"
        );
        let sweep = SWEEP.replace("threads = [1]", "threads = [1]\nthread = [2]");
        assert!(err(&sweep).starts_with("main.toml:13:1: unknown field `thread`, expected one of"));
        assert_eq!(
            err(&SWEEP.replace("threads = [1]", "threads = { pow = [1, 8] }")),
            "main.toml:12:13: unknown field `pow`, expected `pow2`"
        );
    }

    #[test]
    fn wrong_types() {
        assert_eq!(
            err("seed = \"x\"\n"),
            "main.toml:1:8: invalid type: string \"x\", expected a non-negative integer"
        );
        assert_eq!(
            err("[devices.a]\ncpus = 1.5\n"),
            "main.toml:2:8: invalid type: floating point `1.5`, expected a positive integer"
        );
        assert_eq!(
            err("tasks = 5\n"),
            "main.toml:1:9: invalid type: integer `5`, expected { count = N } or { duration_s = S }"
        );
        assert_eq!(
            err("arrival = \"bursty\"\n"),
            "main.toml:1:11: unknown arrival \"bursty\", expected \"batch\", { poisson = { rate_tps = R } } or { bursty = { rate_tps = R, burst = B } }"
        );
        assert_eq!(
            err("devices = [\"a\"]\n"),
            "main.toml:1:11: invalid type: sequence, expected a table of named definitions, such as [devices.edge-1c]"
        );
        assert_eq!(
            err("tasks = { count = 3, duration_s = 3 }\n"),
            "main.toml:1:9: expected { count = N } or { duration_s = S }, not both"
        );
    }

    #[test]
    fn negative_and_zero_values() {
        assert_eq!(
            err("[devices.a]\ncpus = -1\n"),
            "main.toml:2:8: expected an integer >= 1, got -1"
        );
        assert_eq!(
            err("[devices.a]\ncpus = 0\n"),
            "main.toml:2:8: expected an integer >= 1, got 0"
        );
        assert_eq!(
            err("[devices.a]\ncpus = 1\ncpu_quota = 0\n"),
            "main.toml:3:13: expected a number > 0, got 0"
        );
        assert_eq!(
            err("repetitions = 0\n"),
            "main.toml:1:15: expected an integer >= 1, got 0"
        );
        assert_eq!(
            err("time_limit_s = -5\n"),
            "main.toml:1:16: expected a number > 0, got -5"
        );
        assert_eq!(
            err("tasks = { count = 0 }\n"),
            "main.toml:1:19: expected an integer >= 1, got 0"
        );
        assert_eq!(
            err("tasks = { duration_s = 0.0 }\n"),
            "main.toml:1:24: expected a number > 0, got 0"
        );
        assert_eq!(
            err("arrival = { poisson = { rate_tps = -1 } }\n"),
            "main.toml:1:36: expected a number > 0, got -1"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"gil\"\nswitch_interval_ms = 0\n"),
            "main.toml:3:22: expected a number > 0, got 0"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [{ alloc = { mb = -64 } }]\n"),
            "main.toml:2:28: expected a non-negative number, got -64"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [\n  { native = { kernel = \"matmul\", work_us = -3 } },\n]\n"),
            "main.toml:3:45: expected a non-negative number, got -3"
        );
    }

    #[test]
    fn unknown_kernel() {
        // The list of kernels grows; its start is stable.
        let e = err("[workloads.w]\nphases = [{ cpu = { kernel = \"foo\", work_us = 1 } }]\n");
        assert!(
            e.starts_with("main.toml:2:30: unknown variant `foo`, expected one of `arith`, `json`, `matmul`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_phase_kind() {
        assert_eq!(
            err("[workloads.w]\nphases = [\n  { io = { fixed_ms = 1 } },\n  { gpu = { work_us = 1 } },\n]\n"),
            "main.toml:4:5: unknown variant `gpu`, expected one of `cpu`, `io`, `native`, `alloc`"
        );
    }

    #[test]
    fn bad_latency() {
        assert_eq!(
            err("[workloads.w]\nphases = [{ io = { uniform_ms = [15, 5] } }]\n"),
            "main.toml:2:33: expected [low, high] with low <= high, got [15, 5]"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [{ io = { normal_ms = 5 } }]\n"),
            "main.toml:2:20: unknown variant `normal_ms`, expected one of `fixed_ms`, `uniform_ms`, `lognormal`"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [{ io = { lognormal = { median_ms = 30, sigma = -1 } } }]\n"),
            "main.toml:2:58: expected a non-negative number, got -1"
        );
    }

    #[test]
    fn missing_required_keys_point_at_the_table() {
        assert_eq!(
            err("seed = 3\n\n[devices.a]\nmemory_mb = 64\n"),
            "main.toml:3:1: missing field `cpus`"
        );
        assert_eq!(
            err("[workloads.w]\ndescription = \"no phases\"\n"),
            "main.toml:1:1: missing field `phases`"
        );
        assert_eq!(
            err("[workloads.w]\nphases = [{ cpu = { kernel = \"arith\" } }]\n"),
            "main.toml:2:19: missing field `work_us`"
        );
        assert_eq!(
            err("[runtimes.r]\nswitch_interval_ms = 2\n"),
            "main.toml:1:11: runtime \"r\": expected kind = \"gil\" or \"free-threaded\", or cpython = \"<version or path>\" (e.g. cpython = \"3.12\")"
        );
        assert_eq!(
            err("seed = 3\n\n[sweep]\ndevices = [\"d\"]\n"),
            "main.toml:3:1: missing field `runtimes`"
        );
        assert_eq!(
            err("seed = 3\n"),
            "main.toml:1:1: missing table [sweep] (it says what to run: devices, runtimes, workloads and threads)"
        );
    }

    #[test]
    fn empty_phase_list() {
        assert_eq!(
            err("[workloads.w]\nphases = []\n"),
            "main.toml:2:10: workload \"w\": expected at least one phase, e.g. [{ cpu = { kernel = \"arith\", work_us = 25 } }]"
        );
    }

    #[test]
    fn runtime_checks() {
        assert_eq!(
            err("[runtimes.ft]\nkind = \"free-threaded\"\nswitch_interval_ms = 1\n"),
            "main.toml:3:22: switch_interval_ms applies only to kind = \"gil\" (a free-threaded runtime has no lock)"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"gill\"\n"),
            "main.toml:2:8: unknown variant `gill`, expected one of `gil`, `free-threaded`, `cpython`"
        );
        assert_eq!(
            err("[runtimes.r]\nswitch_interval_ms = 1\n"),
            "main.toml:1:11: runtime \"r\": expected kind = \"gil\" or \"free-threaded\", or cpython = \"<version or path>\" (e.g. cpython = \"3.12\")"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"gil\"\ncpython = \"3.12\"\n"),
            "main.toml:2:8: `cpython = ...` names a real interpreter: drop `kind` or set kind = \"cpython\""
        );
        assert_eq!(
            err("[runtimes.r]\ncpython = \" \"\n"),
            "main.toml:2:11: expected an interpreter version (e.g. \"3.12\") or path, got an empty string"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"cpython\"\n"),
            "main.toml:1:11: kind = \"cpython\" needs cpython = \"<version or path>\", e.g. cpython = \"3.12\""
        );
        assert_eq!(
            err("[runtimes.gil]\nkind = \"gil\"\nswitch_interval_ms = 1\n"),
            "main.toml:1:11: runtime \"gil\" is built in and cannot be redefined; pick another name (e.g. \"gil-custom\")"
        );
        assert_eq!(
            err("[runtimes.r]\nkind = \"gil\"\nswitch_interval_ms = 0.0001\n"),
            "main.toml:3:22: expected a switch interval of at least 0.001 ms (1 us), got 0.0001"
        );
    }

    #[test]
    fn bad_names() {
        assert_eq!(
            err("[devices.\"a/b\"]\ncpus = 1\n"),
            "main.toml:1:10: device name \"a/b\": expected letters, digits, '-', '_' or '.' only"
        );
        assert_eq!(
            err(&format!("name = \"\"\n{SWEEP}")),
            "main.toml:1:8: name: expected a non-empty name without '/', got \"\""
        );
    }

    #[test]
    fn sweep_references_point_at_the_string() {
        let text = SWEEP.replace("devices = [\"d\"]", "devices = [\"d\", \"edge-9c\"]");
        assert_eq!(
            err(&text),
            "main.toml:9:17: sweep.devices: no device named \"edge-9c\" (defined: d)"
        );
        let text = SWEEP.replace("runtimes = [\"gil\"]", "runtimes = [\"gil\", \"pypy\"]");
        assert_eq!(
            err(&text),
            "main.toml:10:20: sweep.runtimes: no runtime named \"pypy\" (defined: free-threaded, gil)"
        );
        let text = SWEEP.replace("workloads = [\"w\"]", "workloads = [\n  \"x\",\n]");
        assert_eq!(
            err(&text),
            "main.toml:12:3: sweep.workloads: no workload named \"x\" (defined: w)"
        );
        let text = SWEEP.replace("[devices.d]\ncpus = 1\n", "");
        assert_eq!(
            err(&text),
            "main.toml:7:12: sweep.devices: no device named \"d\" (defined: none)"
        );
        let text = SWEEP.replace("devices = [\"d\"]", "devices = [\"d\", \"d\"]");
        assert_eq!(
            err(&text),
            "main.toml:9:17: sweep.devices: \"d\" is listed twice"
        );
        let text = SWEEP.replace("workloads = [\"w\"]", "workloads = []");
        assert_eq!(
            err(&text),
            "main.toml:11:13: sweep.workloads: expected at least one workload"
        );
        let text = SWEEP.replace(
            "threads = [1]",
            "threads = [1]\nstrategies = [\"adaptiv\"]",
        );
        assert!(
            err(&text).starts_with("main.toml:13:15: unknown strategy \"adaptiv\", expected one of \"fixed\""),
            "{}",
            err(&text)
        );
        // Parameters are checked where they are written.
        let text = SWEEP.replace(
            "threads = [1]",
            "threads = [1]\nstrategies = [{ adaptive-paper = { beta_thresh = 2.0 } }]",
        );
        assert!(err(&text).starts_with("main.toml:13:15: controller `adaptive-paper`: parameter `beta_thresh`"), "{}", err(&text));
        let text = SWEEP.replace(
            "threads = [1]",
            "threads = [1]\nstrategies = [{ adaptive = { warp = 9 } }]",
        );
        assert!(err(&text).contains("unknown field `warp`"), "{}", err(&text));
        let text = SWEEP.replace(
            "threads = [1]",
            "threads = [1]\nstrategies = [\"fixed\", \"fixed\"]",
        );
        assert_eq!(
            err(&text),
            "main.toml:13:24: sweep.strategies: \"fixed\" is listed twice"
        );
        // fixed-best measures the sweep's best fixed pool again: it needs "fixed" first.
        let text = SWEEP.replace("threads = [1]", "threads = [1]\nstrategies = [\"adaptive\", \"fixed-best\", \"fixed\"]");
        assert!(
            err(&text).starts_with("main.toml:13:27: sweep.strategies: \"fixed-best\" measures again"),
            "{}",
            err(&text)
        );
    }

    #[test]
    fn bad_threads() {
        let with = |spec: &str| err(&SWEEP.replace("threads = [1]", &format!("threads = {spec}")));
        assert_eq!(
            with("{ pow2 = [1, 3000] }"),
            "main.toml:12:24: expected a power of two in 1..=4096 (1, 2, 4, ..., 4096), got 3000"
        );
        assert_eq!(
            with("{ pow2 = [1, 8192] }"),
            "main.toml:12:24: expected a power of two in 1..=4096 (1, 2, 4, ..., 4096), got 8192"
        );
        assert_eq!(
            with("{ pow2 = [64, 8] }"),
            "main.toml:12:20: sweep.threads: expected pow2 = [from, to] with from <= to, got [64, 8]"
        );
        assert_eq!(
            with("{ pow2 = [1, 2, 4] }"),
            "main.toml:12:20: sweep.threads: expected pow2 = [from, to] (two powers of two), got 3 values"
        );
        assert_eq!(
            with("[1, 4, 5000]"),
            "main.toml:12:18: expected a thread count in 1..=4096, got 5000"
        );
        assert_eq!(
            with("[1, 0]"),
            "main.toml:12:15: expected a thread count in 1..=4096, got 0"
        );
        assert_eq!(
            with("[1, 4, 1]"),
            "main.toml:12:18: sweep.threads: 1 is listed twice"
        );
        assert_eq!(
            with("[]"),
            "main.toml:12:11: sweep.threads: expected at least one thread count, e.g. [1, 4, 32]"
        );
        assert_eq!(
            with("\"many\""),
            "main.toml:12:11: invalid type: string \"many\", expected a list of thread counts such as [1, 4, 32], or { pow2 = [from, to] }"
        );
    }

    #[test]
    fn include_of_a_missing_file_points_at_the_string() {
        let f = Files::new();
        f.write(
            "main.toml",
            &format!("include = [\"devices/here.toml\", \"devices/gone.toml\"]\n{SWEEP}"),
        );
        f.write("devices/here.toml", "");
        let e = f.err("main.toml");
        assert!(
            e.starts_with(
                "main.toml:1:33: cannot read included file \"devices/gone.toml\" (devices/gone.toml): "
            ),
            "{e}"
        );
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn errors_in_an_included_file_name_that_file() {
        let f = Files::new();
        f.write(
            "main.toml",
            &format!("include = [\"devices/edge.toml\"]\n{SWEEP}"),
        );
        f.write(
            "devices/edge.toml",
            "[devices.e]\ncpus = 1\n\n[devices.f]\ncpus = -2\n",
        );
        assert_eq!(
            f.err("main.toml"),
            "devices/edge.toml:5:8: expected an integer >= 1, got -2"
        );

        // Nested include: the innermost file is named.
        f.write("devices/edge.toml", "include = [\"more/kernels.toml\"]\n");
        f.write(
            "devices/more/kernels.toml",
            "[workloads.k]\nphases = [{ cpu = { kernel = \"fft\", work_us = 1 } }]\n",
        );
        let e = f.err("main.toml");
        assert!(
            e.starts_with("devices/more/kernels.toml:2:30: unknown variant `fft`, expected one of `arith`, `json`, `matmul`"),
            "{e}"
        );

        // A syntax error in an included file.
        f.write("devices/edge.toml", "[devices.e\ncpus = 1\n");
        assert!(
            f.err("main.toml").starts_with("devices/edge.toml:1:"),
            "{}",
            f.err("main.toml")
        );
    }

    #[test]
    fn included_files_hold_definitions_only() {
        let f = Files::new();
        f.write("main.toml", &format!("include = [\"inc.toml\"]\n{SWEEP}"));
        f.write(
            "inc.toml",
            "[devices.e]\ncpus = 1\n\n[sweep]\ndevices = [\"e\"]\n",
        );
        assert_eq!(
            f.err("main.toml"),
            "inc.toml:4:2: unknown field `sweep`, expected one of `include`, `devices`, `runtimes`, \
             `workloads` (an included file may only hold include, [devices.*], [runtimes.*] and \
             [workloads.*]; [sweep] and settings belong in the main file)"
        );
        f.write("inc.toml", "seed = 4\n");
        assert!(f
            .err("main.toml")
            .starts_with("inc.toml:1:1: unknown field `seed`"));
    }

    #[test]
    fn include_cycles_are_detected() {
        let f = Files::new();
        f.write("main.toml", &format!("include = [\"a.toml\"]\n{SWEEP}"));
        f.write("a.toml", "include = [\"sub/b.toml\"]\n");
        f.write("sub/b.toml", "include = [\"../a.toml\"]\n");
        assert_eq!(
            f.err("main.toml"),
            "sub/b.toml:1:12: include cycle: a.toml -> sub/b.toml -> sub/../a.toml"
        );
        f.write("sub/b.toml", "include = [\"../main.toml\"]\n");
        assert_eq!(
            f.err("main.toml"),
            "sub/b.toml:1:12: include cycle: main.toml -> a.toml -> sub/b.toml -> sub/../main.toml"
        );
        f.write("a.toml", "include = [\"a.toml\"]\n");
        assert_eq!(
            f.err("main.toml"),
            "a.toml:1:12: include cycle: a.toml -> a.toml"
        );
    }

    #[test]
    fn a_file_included_twice_is_read_once() {
        let f = Files::new();
        let main = f.write(
            "main.toml",
            &format!(
                "include = [\"a.toml\", \"b.toml\"]\n{}",
                SWEEP.replace("\"d\"]", "\"d\", \"common\"]")
            ),
        );
        f.write("a.toml", "include = [\"common.toml\"]\n");
        f.write("b.toml", "include = [\"common.toml\"]\n");
        f.write("common.toml", "[devices.common]\ncpus = 4\n");
        let sc = load(&main).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.sources.len(), 4);
        assert_eq!(sc.devices["common"].cpus, 4);
    }

    #[test]
    fn a_name_defined_twice_names_both_places() {
        let f = Files::new();
        f.write(
            "main.toml",
            &format!("include = [\"devices/a.toml\", \"devices/b.toml\"]\n{SWEEP}"),
        );
        f.write("devices/a.toml", "[devices.edge]\ncpus = 1\n");
        f.write(
            "devices/b.toml",
            "# the same again\n[devices.edge]\ncpus = 2\n",
        );
        assert_eq!(
            f.err("main.toml"),
            "devices/b.toml:2:10: device \"edge\" is defined twice: first at devices/a.toml:1:10, again here"
        );
        // Between an included file and the main file (the main file's own come last).
        f.write("devices/b.toml", "");
        f.write(
            "devices/a.toml",
            "[workloads.w]\nphases = [{ io = { fixed_ms = 1 } }]\n",
        );
        assert_eq!(
            f.err("main.toml"),
            "main.toml:6:12: workload \"w\" is defined twice: first at devices/a.toml:1:12, again here"
        );
    }

    #[test]
    fn no_panic_on_any_prefix() {
        let f = Files::new();
        f.write("devices/edge.toml", EDGE);
        f.write("workloads/paper.toml", PAPER);
        let mut ends: Vec<usize> = MAIN.char_indices().map(|(i, _)| i).collect();
        ends.push(MAIN.len());
        for end in ends {
            let path = f.write("quick.toml", &MAIN[..end]);
            match load(&path) {
                Ok(sc) => assert!(end >= MAIN.trim_end().len(), "{end}: {:?}", sc.name),
                Err(ScenarioError::At { line, column, .. }) => assert!(line >= 1 && column >= 1),
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }

    #[test]
    fn positions_are_one_based_characters() {
        assert_eq!(position("", 0), (1, 1));
        assert_eq!(position("ab\ncd", 3), (2, 1));
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(position("é = x", 4), (1, 4));
        assert_eq!(position("ab", 99), (1, 3));
    }

    #[test]
    fn onnx_model_path_is_resolved_and_must_exist() {
        let f = Files::new();
        let main = f.write(
            "dir/s.toml",
            &format!("[onnx]\nmodel = \"m.onnx\"\nintra_op_threads = 2\n{SWEEP}"),
        );
        let e = f.err("dir/s.toml");
        assert!(e.starts_with("dir/s.toml:2:9: onnx.model: no file at "), "{e}");
        f.write("dir/m.onnx", "not checked here");
        let sc = load(&main).unwrap();
        assert_eq!(sc.onnx.intra_op_threads, 2);
        assert!(sc.onnx.model.unwrap().ends_with("dir/m.onnx"));
    }

    #[test]
    fn bursty_arrival() {
        let f = Files::new();
        let main = f.write(
            "s.toml",
            &format!("arrival = {{ bursty = {{ rate_tps = 500, burst = 20 }} }}\n{SWEEP}"),
        );
        assert_eq!(load(&main).unwrap().arrival, Arrival::Bursty { rate_tps: 500.0, burst: 20 });
        f.write(
            "t.toml",
            &format!("arrival = {{ bursty = {{ rate_tps = 500, burst = 0 }} }}\n{SWEEP}"),
        );
        assert_eq!(f.err("t.toml"), "t.toml:1:48: expected an integer >= 1, got 0");
    }

    #[test]
    fn strategies_by_name_and_with_parameters_round_trip() {
        let f = Files::new();
        let main = f.write(
            "s.toml",
            &SWEEP.replace(
                "threads = [1]",
                "threads = [1]\nstrategies = [\"fixed\", { process = { interpreter_rss_mb = 20 } }, \"async\", \
                 { async = { offload_native = true } }, \"queue-scaler\", { adaptive-paper = { beta_thresh = 0.4 } }, \
                 \"adaptive-betapool\", \"adaptive\", \"fixed-best\"]",
            ),
        );
        let sc = load(&main).unwrap();
        let names: Vec<&str> = sc.sweeps[0].strategies.iter().map(StrategySpec::name).collect();
        assert_eq!(
            names,
            ["fixed", "process", "async", "async-offload", "queue-scaler", "adaptive-paper", "adaptive-betapool", "adaptive", "fixed-best"]
        );
        // Points carry them to the point process as JSON: the round trip keeps parameters.
        for s in &sc.sweeps[0].strategies {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(&serde_json::from_str::<StrategySpec>(&json).unwrap(), s, "{json}");
        }
        // Elastic strategies and fixed-best are one point per repetition, not one per N.
        let plan = sc.plan();
        assert_eq!(plan.points.iter().filter(|p| p.strategy.is_elastic()).count(), 4);
        assert_eq!(plan.points.iter().filter(|p| p.strategy.sizes_itself()).count(), 5);
        assert!(plan.points.iter().filter(|p| p.strategy.sizes_itself()).all(|p| p.threads == 0));
    }
}

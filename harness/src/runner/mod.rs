//! The sweep: each point of the plan in a fresh child process inside fresh limits, one CSV
//! row as each finishes, resumable, interruptible with Ctrl-C.

mod filter;
mod merge;
pub mod point;
mod reference;
mod shard;
mod supervise;

pub use filter::Filter;
pub use merge::merge;
pub use shard::Shard;
pub use supervise::POINT_SUBCOMMAND;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::limits::{self, Limiter};
use crate::measure::HostCpu;
use crate::results::{read_rows, write_timeline, Ending, Manifest, Row, Status, Store};
use crate::runtime::Program;
use crate::scenario::{estimate, Point, RuntimeSpec, Scenario, StrategySpec};
use workloads::{Calibrated, Phase};

pub struct Options {
    pub out: PathBuf,
    /// Append to `out`, running only the points it lacks.
    pub resume: bool,
    pub only: Option<Filter>,
    pub shard: Option<Shard>,
    pub limiter: Limiter,
    /// Set from a Ctrl-C handler.
    pub interrupted: Arc<AtomicBool>,
}

/// How a sweep ended.
pub struct Report {
    pub dir: PathBuf,
    pub ran: usize,
    pub skipped: usize,
    pub failed: usize,
    pub interrupted: bool,
}

/// The points of a scenario that `only` keeps and that belong to `shard`, in plan order.
pub fn selected(scenario: &Scenario, only: Option<&Filter>, shard: Option<Shard>) -> Vec<Point> {
    let plan = scenario.plan();
    plan.points
        .into_iter()
        .filter(|p| only.is_none_or(|f| f.matches(&p.key())))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.has(*i)))
        .map(|(_, p)| p)
        .collect()
}

pub fn run(scenario: &Scenario, opts: &Options) -> anyhow::Result<Report> {
    limits::clean_stale();
    let points = selected(scenario, opts.only.as_ref(), opts.shard);
    // A missing interpreter venv is a set-up step, better said now than in every row.
    crate::runtime::cpython::preflight(&points)?;
    let mut store = if opts.resume { Store::open(&opts.out) } else { Store::create(&opts.out) }?;
    let todo: Vec<&Point> = points.iter().filter(|p| !store.has(&p.key())).collect();
    let mut manifest = Manifest::new(scenario, opts.limiter.enforcement().as_str(), points.len());
    let old = Manifest::read(&opts.out);
    let known = old.as_ref().map_or(&[][..], |m| &m.calibration[..]);
    let (calibration, others) = calibrate(&todo, known).context("calibrating the workloads' kernels")?;
    match old {
        Some(old) if old.scenario_files != manifest.scenario_files => eprintln!(
            "gilbench: warning: the scenario files changed since {} was started; its rows come \
             from both versions (the first version is kept in manifest.json)",
            opts.out.display()
        ),
        Some(_) => {}
        None => {
            manifest.calibration = calibration.clone();
            manifest.calibration_others_cpu = others;
            manifest.write(&opts.out).context("writing manifest.json")?
        }
    }
    if opts.limiter.enforcement() == limits::Enforcement::Affinity {
        for (e, why) in opts.limiter.skipped() {
            eprintln!("gilbench: not using {e}: {why}");
        }
    }
    let skipped = points.len() - todo.len();
    let est = estimate(&crate::scenario::Plan { points: todo.iter().map(|p| (*p).clone()).collect() });
    eprintln!(
        "gilbench: {} points to run ({} already in {}), about {}; limits by {}",
        todo.len(),
        skipped,
        opts.out.display(),
        human(est.duration.as_secs_f64()),
        opts.limiter.enforcement().as_str()
    );
    let progress = Progress::new(todo.len());
    let mut report =
        Report { dir: opts.out.clone(), ran: 0, skipped, failed: 0, interrupted: false };
    let runner_t0 = Instant::now();
    // fixed-best points pick their N from the fixed pools recorded before them.
    let mut best_fixed = if todo.iter().any(|p| p.strategy == StrategySpec::FixedBest) {
        reference::BestFixed::of(&read_rows(store.path()).unwrap_or_default())
    } else {
        reference::BestFixed::default()
    };
    for (i, planned) in todo.iter().enumerate() {
        let key = planned.key();
        progress.start(&key.to_string());
        let label = format!("p{}-{}", i, std::process::id());
        let planned = &Point { calibration: calibration.clone(), ..(*planned).clone() };
        let to_run = match planned.strategy {
            StrategySpec::FixedBest => best_fixed.resolve(planned),
            _ => Ok(planned.clone()),
        };
        let row = match to_run {
            Ok(point) => {
                let Ok(ending) = supervise::run_point(&opts.limiter, &point, &label, &opts.interrupted)
                else {
                    report.interrupted = true;
                    break;
                };
                if let Some(m) = ending.measurement.as_ref().filter(|m| !m.timeline.is_empty()) {
                    write_timeline(&opts.out, &key, &m.timeline).context("writing a controller timeline")?;
                }
                let row = Row::new(&point, ending);
                if point.strategy == planned.strategy { row } else { best_fixed.record(row, planned) }
            }
            Err(message) => Row::new(planned, Ending::not_run(opts.limiter.enforcement(), message)),
        };
        best_fixed.add(&row);
        store.append(&row).with_context(|| format!("appending to {}", store.path().display()))?;
        report.ran += 1;
        if row.status != Status::Ok {
            report.failed += 1;
        }
        progress.done(&key.to_string(), &row);
        if opts.interrupted.load(Ordering::SeqCst) {
            report.interrupted = true;
            break;
        }
    }
    progress.finish();
    eprintln!("gilbench: {} points in {}", report.ran, human(runner_t0.elapsed().as_secs_f64()));
    Ok(report)
}

/// The kernels of the points that run in this process's runtimes, measured once for the
/// whole run (CPython points calibrate in Python), keeping what `known` (a resumed run's
/// manifest) has. Per-point calibration let the work per task follow the CPU's state at each
/// point's start: a speech-features point ran 3.5 ms tasks instead of 6 ms at 1.7x the
/// throughput of its neighbours. Also returns the share of the machine other processes used
/// meanwhile, when anything was measured.
fn calibrate(points: &[&Point], known: &[Calibrated]) -> anyhow::Result<(Vec<Calibrated>, Option<f64>)> {
    let emulated: Vec<&Point> =
        points.iter().copied().filter(|p| !matches!(p.runtime, RuntimeSpec::Cpython { .. })).collect();
    let Some(first) = emulated.first() else {
        return Ok((known.to_vec(), None));
    };
    let phases: Vec<Phase> = emulated.iter().flat_map(|p| p.workload.phases.iter().cloned()).collect();
    let t0 = HostCpu::now();
    let (_, used) = Program::compile_with(&phases, &first.onnx, known)?;
    let fresh: Vec<Calibrated> =
        used.into_iter().filter(|c| !known.iter().any(|k| k.kernel == c.kernel)).collect();
    // A kernel or two calibrate in well under 0.1 s, too short for /proc/stat's 10 ms
    // ticks: watch the machine for at least CALIBRATION_WATCH (the rest of it just after).
    let others = t0.filter(|_| !fresh.is_empty()).and_then(|a| {
        std::thread::sleep(CALIBRATION_WATCH.saturating_sub(a.elapsed()));
        HostCpu::now()?.others_since(&a)
    });
    let mut all = known.to_vec();
    all.extend(fresh);
    all.sort_by_key(|c| c.kernel.name());
    let list: Vec<String> =
        all.iter().map(|c| format!("{} {:.4} units/us", c.kernel.name(), c.units_per_us)).collect();
    eprintln!("gilbench: kernels calibrated once for the run: {}", list.join(", "));
    // A kernel slows down beside a busy neighbour (shared caches, SMT siblings, the
    // hypervisor), so fewer units make each task's work_us: every task of the run is lighter
    // and its TPS is not comparable with an idle machine's run (seen: json 0.17 units/us
    // with another job running against 0.26 idle).
    if let Some(o) = others.filter(|o| *o > CALIBRATION_BUSY) {
        eprintln!(
            "gilbench: warning: other processes used {:.0} % of the machine's CPU while the kernels \
             were calibrated; tasks will be lighter than on an idle machine, so this run's TPS \
             compares with its own points only (run on an idle machine to compare runs)",
            o * 100.0
        );
    }
    Ok((all, others))
}

/// The share of the machine others may use during calibration before the run says so.
const CALIBRATION_BUSY: f64 = 0.10;
/// How long the machine's CPU use is watched around calibration, at least.
const CALIBRATION_WATCH: std::time::Duration = std::time::Duration::from_millis(500);

/// A bar with ETA on a terminal; one line per point otherwise (CI logs).
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    n: std::cell::Cell<usize>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} ETA {eta} {msg}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress { bar, total, n: 0.into() }
    }

    fn start(&self, key: &str) {
        if let Some(b) = &self.bar {
            b.set_message(key.to_string());
        }
    }

    fn done(&self, key: &str, row: &Row) {
        self.n.set(self.n.get() + 1);
        let what = match (row.status, row.tps) {
            (Status::Ok, Some(tps)) => format!(
                "ok {:>9.0} tps p99 {:>8.2} ms",
                tps,
                row.lat_p99_ms.unwrap_or(f64::NAN)
            ),
            (s, _) => format!("{}: {}", s.as_str(), row.message),
        };
        match &self.bar {
            Some(b) => {
                if row.status != Status::Ok {
                    b.println(format!("{key}: {what}"));
                }
                b.inc(1);
            }
            None => eprintln!("[{}/{}] {key} {what}", self.n.get(), self.total),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

pub fn human(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// `results/<scenario>-<UTC timestamp>` below `root`.
pub fn default_out(root: &Path, scenario: &Scenario) -> PathBuf {
    let stamp = crate::results::utc_now().replace([':', '-'], "");
    root.join(format!("{}-{}", scenario.name, stamp.trim_end_matches('Z')))
}

//! The `gilbench` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use gilbench::limits::{Enforcement, Limiter};
use gilbench::report;
use gilbench::results::read_rows;
use gilbench::runner::{self, Filter, Shard, POINT_SUBCOMMAND};
use gilbench::scenario::{self, estimate, Plan};

#[derive(Parser)]
#[command(
    name = "gilbench",
    version,
    about = "How a Python-style runtime behaves under too many threads on a small device",
    long_about = "Sweeps thread counts for edge AI workloads under real device limits (cgroups), \
                  on an emulated GIL or free-threaded runtime, and writes one tidy CSV row per point."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: every point in a fresh process under the device's limits.
    Run {
        /// Scenario file (TOML), e.g. scenarios/quick.toml
        file: PathBuf,
        /// Results folder [default: results/<scenario>-<UTC time>]
        #[arg(long, conflicts_with = "resume")]
        out: Option<PathBuf>,
        /// Complete an interrupted run in this folder: only missing points run
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// Run only matching points, e.g. 'workload=micro,threads=1..64,device=*-1c'
        #[arg(long, value_name = "EXPR")]
        only: Option<Filter>,
        /// Run every n-th point only, starting at the i-th (1-based), e.g. 2/4 on the second of
        /// four machines; `gilbench merge` joins the folders afterwards
        #[arg(long, value_name = "i/n")]
        shard: Option<Shard>,
        /// Run this many repetitions of every point, whatever the scenario says (a later
        /// --resume with more adds the missing ones)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        repetitions: Option<u32>,
        /// How device limits are enforced: auto, cgroup-v2, cgroup-v1, affinity
        #[arg(long, default_value = "auto")]
        enforcement: String,
        /// Write the report (figures, report.md, index.html) into <results>/report at the end
        #[arg(long)]
        report: bool,
    },
    /// Print a scenario's expanded plan (points, estimated duration) without running it.
    List {
        file: PathBuf,
        #[arg(long, value_name = "EXPR")]
        only: Option<Filter>,
        #[arg(long, value_name = "i/n")]
        shard: Option<Shard>,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        repetitions: Option<u32>,
        /// Print every point, not only the totals
        #[arg(long)]
        points: bool,
    },
    /// Merge result folders of one scenario (shards, several machines) into a new folder:
    /// every point once, timelines copied, duplicates reported.
    Merge {
        /// The new results folder
        #[arg(long)]
        out: PathBuf,
        /// The folders to merge
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Print the summary table (best N and TPS per group) of a results folder.
    Summary { dir: PathBuf },
    /// Figures (SVG + PNG), report.md, a self-contained index.html and means.csv (the estimates) from a results folder.
    Report {
        /// Results folder (with points.csv) or a points CSV file
        results: PathBuf,
        /// Output folder [default: RESULTS/report]
        #[arg(long)]
        out: Option<PathBuf>,
        /// criterion output for the overhead figure [default: target/criterion, when present]
        #[arg(long, value_name = "DIR")]
        criterion: Option<PathBuf>,
    },
    /// Compare result sets point by point (ratio of means, 95 % CI, Welch's t-test), like
    /// pyperf compare_to: `compare A B [C...]`, or `compare DIR --by runtime`.
    Compare {
        /// Results folders or CSV files; the first is the reference
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Split the rows by this column instead: runtime, scenario, device, workload or strategy
        #[arg(long, value_name = "COLUMN")]
        by: Option<String>,
        /// The side the others are compared against (a value of the --by column, or an
        /// input's label); default: the first input, or the first value to appear
        #[arg(long, value_name = "SIDE")]
        reference: Option<String>,
        /// Also write overlay figures of the cliff and per-thread curves here
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Internal: run one point read as JSON from stdin (used by `run`).
    #[command(name = POINT_SUBCOMMAND, hide = true)]
    Point,
    /// Internal: a process-pool worker (used by the `process` strategy).
    #[command(name = gilbench::strategy::process::WORKER_SUBCOMMAND, hide = true)]
    Worker,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gilbench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Point => {
            runner::point::run_from_stdin()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            gilbench::strategy::process::worker_main()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List { file, only, shard, repetitions, points } => {
            let mut sc = scenario::load(&file)?;
            sc.override_repetitions(repetitions);
            let selected = runner::selected(&sc, only.as_ref(), shard);
            if points {
                for p in &selected {
                    println!("{}", p.key());
                }
            }
            let est = estimate(&Plan { points: selected });
            println!(
                "{}: {} points, estimated {} on this machine",
                file.display(),
                est.points,
                runner::human(est.duration.as_secs_f64())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Summary { dir } => {
            let rows = read_rows(&dir.join(gilbench::results::POINTS_CSV))?;
            print!("{}", report::table(&report::summarise(&rows)));
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { results, out, criterion } => {
            let opts = report::Options {
                out: out.unwrap_or_else(|| report::build::default_out(&results)),
                criterion: criterion.or_else(report::build::default_criterion),
            };
            let r = report::write(&results, &opts)?;
            print!("{}", report::build::summary(&r));
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { inputs, by, reference, out } => {
            let mut sides = report::compare::sides(&inputs, by.as_deref())?;
            if let Some(r) = &reference {
                sides = report::compare::with_reference(sides, r)?;
            }
            for changed in &sides[1..] {
                println!("{}", report::compare::text(&report::compare::compare(&sides[0], changed, by.as_deref())));
            }
            if let Some(out) = out {
                let figs = report::compare::overlays(&sides, by.as_deref(), &out)?;
                println!("{} overlay figures (SVG + PNG) in {}", figs.len(), out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { out, dirs } => {
            let m = runner::merge(&out, &dirs)?;
            for (key, kept) in &m.duplicates {
                eprintln!("gilbench: {key} is in more than one folder; kept the row from {}", kept.display());
            }
            println!("merged {} points from {} folders into {}", m.rows, dirs.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { file, out, resume, only, shard, repetitions, enforcement, report: write_report } => {
            let mut sc = scenario::load(&file)?;
            sc.override_repetitions(repetitions);
            let limiter = match enforcement.as_str() {
                "auto" => Limiter::detect(),
                other => {
                    let e: Enforcement = other.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "--enforcement {other}: expected auto, cgroup-v2, cgroup-v1 or affinity"
                        )
                    })?;
                    Limiter::with(e)?
                }
            };
            let interrupted = Arc::new(AtomicBool::new(false));
            let flag = interrupted.clone();
            ctrlc::set_handler(move || {
                if flag.swap(true, Ordering::SeqCst) {
                    std::process::exit(130); // second Ctrl-C: stop now
                }
                eprintln!("\ngilbench: interrupted, stopping the current point (Ctrl-C again to force)");
            })
            .context("installing the Ctrl-C handler")?;
            let (dir, resuming) = match (out, resume) {
                (_, Some(dir)) => (dir, true),
                (Some(dir), None) => (dir, false),
                (None, None) => (runner::default_out(&PathBuf::from("results"), &sc), false),
            };
            let opts = runner::Options { out: dir.clone(), resume: resuming, only, shard, limiter, interrupted };
            let rep = runner::run(&sc, &opts)?;
            let rows = read_rows(&dir.join(gilbench::results::POINTS_CSV))?;
            println!("{}", report::table(&report::summarise(&rows)));
            println!("results: {}", dir.display());
            if write_report {
                let opts = report::Options {
                    out: report::build::default_out(&dir),
                    criterion: report::build::default_criterion(),
                };
                match report::write(&dir, &opts) {
                    Ok(r) => print!("{}", report::build::summary(&r)),
                    // The sweep's rows are safe on disk; a failed report must not hide them.
                    Err(e) => eprintln!("gilbench: the report failed: {e:#}; retry with: gilbench report {}", dir.display()),
                }
            } else {
                println!("report: gilbench report {}", dir.display());
            }
            if rep.interrupted {
                eprintln!(
                    "gilbench: interrupted after {} points; finish with: gilbench run {} --resume {}",
                    rep.ran,
                    file.display(),
                    dir.display()
                );
                return Ok(ExitCode::from(130));
            }
            if rep.failed > 0 {
                eprintln!("gilbench: {} of {} points did not end ok (see the status and message columns)", rep.failed, rep.ran);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

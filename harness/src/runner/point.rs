//! The point process: reads one Point as JSON on stdin, runs it, prints one Measurement
//! as JSON on stdout. It runs inside the point's limits, which the runner set before exec.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::measure::{speed, Measurement};
use crate::runtime::{cpython, Interpreter, Program};
use crate::scenario::{Point, RuntimeSpec, StrategySpec};
use crate::strategy::{self, Setup};

pub fn run_from_stdin() -> anyhow::Result<()> {
    let mut spec = String::new();
    std::io::stdin().read_to_string(&mut spec).context("reading the point spec")?;
    let point: Point = serde_json::from_str(&spec).context("parsing the point spec")?;
    let m = measure(point)?;
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}

/// Calibrates, runs the strategy, and measures the window from first arrival to last
/// completion (thread start-up and calibration excluded).
pub fn measure(point: Point) -> anyhow::Result<Measurement> {
    if let RuntimeSpec::Cpython { interpreter } = &point.runtime {
        return cpython::measure(&point, interpreter);
    }
    // A process pool's workers compile their own copies; a parent copy would only add an
    // unused ONNX session to the tree's memory.
    let (program, calibration) = match point.strategy {
        StrategySpec::Process(_) => (Program::default(), Vec::new()),
        _ => Program::compile_with(&point.workload.phases, &point.onnx, &point.calibration)?,
    };
    // A process pool's parent compiled nothing: its kernels are the run's calibration.
    let reference = if calibration.is_empty() { &point.calibration } else { &calibration };
    let meter = speed::Meter::start(&point.workload.phases, reference);
    let interp = Interpreter::new(&point.runtime)?;
    let setup = Arc::new(Setup { point, program, interp });
    let out = strategy::run(setup);
    let ended = Instant::now();
    let trials = meter.and_then(speed::Meter::stop);
    let out = out?;
    let mut m = Measurement::new(
        &out.stats,
        out.unfinished,
        out.elapsed,
        &out.usage,
        out.spawn,
        out.calibration.unwrap_or(calibration),
        out.timeline,
    );
    // Over the window whose throughput the report compares: an elastic pool's steady window,
    // which ends where the pool's does (its teardown, milliseconds, is not subtracted).
    let steady_from =
        m.settling.and_then(|st| Some(ended.checked_sub(out.elapsed)? + Duration::from_secs_f64(st.steady_from_s)));
    m.cpu_speed = trials.and_then(|t| steady_from.map_or_else(|| t.speed(), |from| t.speed_from(from)));
    // A process pool's memory is its whole tree, not the parent's.
    if let Some((rss, pss)) = out.tree_memory_mb {
        m.peak_rss_mb = Some(rss);
        m.pss_mb = Some(pss);
    }
    Ok(m)
}

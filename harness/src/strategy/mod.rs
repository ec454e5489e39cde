//! Strategies: how tasks meet threads.

mod async_loop;
mod feed;
mod fixed;
pub mod pool;
pub mod process;
mod threads;

use std::sync::Arc;
use std::time::Duration;

use crate::measure::{TaskStats, TimelineRow, Usage};
use crate::runtime::{Interpreter, Program};
use workloads::Calibrated;
use crate::scenario::{Point, StrategySpec};

/// What every strategy gets: the point, its compiled workload and its interpreter.
#[derive(Debug)]
pub struct Setup {
    pub point: Point,
    pub program: Program,
    pub interp: Interpreter,
}

/// What a strategy hands back.
#[derive(Debug)]
pub struct Outcome {
    pub stats: TaskStats,
    /// First arrival to last completion.
    pub elapsed: Duration,
    /// Time to start the threads (not part of `elapsed`).
    pub spawn: Duration,
    /// Process CPU and context switches over `elapsed`.
    pub usage: Usage,
    /// Tasks that arrived but did not finish within a time budget's window.
    pub unfinished: u64,
    /// Controller intervals of an elastic pool (empty for the others).
    pub timeline: Vec<TimelineRow>,
    /// Process pools: (RSS, PSS) summed over the parent and its workers, peak of the samples.
    pub tree_memory_mb: Option<(f64, f64)>,
    /// Process pools: the kernels' calibration, measured in a worker (the parent compiles
    /// nothing); None: the point's own calibration stands.
    pub calibration: Option<Vec<Calibrated>>,
}

pub fn run(setup: Arc<Setup>) -> anyhow::Result<Outcome> {
    match &setup.point.strategy {
        // The runner sends fixed-best as the fixed pool it picked; either runs the point's N.
        StrategySpec::Fixed | StrategySpec::FixedBest => fixed::run(setup),
        StrategySpec::Elastic(spec) => {
            let ctl = spec.build();
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
            let initial = ctl.initial_threads(cores).max(1) as usize;
            threads::run(setup.clone(), initial, Some(ctl))
        }
        StrategySpec::Async(p) => async_loop::run(setup.clone(), p.offload_native),
        StrategySpec::Process(_) => process::run(setup.clone()),
    }
}

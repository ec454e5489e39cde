//! Strategies: how tasks meet threads.

mod feed;
mod fixed;
pub mod pool;

use std::sync::Arc;
use std::time::Duration;

use crate::measure::{TaskStats, Usage};
use crate::runtime::{Interpreter, Program};
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
}

pub fn run(setup: Arc<Setup>) -> anyhow::Result<Outcome> {
    match setup.point.strategy {
        StrategySpec::Fixed => fixed::run(setup),
    }
}

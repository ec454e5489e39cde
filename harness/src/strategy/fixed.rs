//! A fixed pool of N threads fed from one FIFO queue: ThreadPoolExecutor(N).

use std::sync::Arc;

use super::{threads, Outcome, Setup};

pub fn run(setup: Arc<Setup>) -> anyhow::Result<Outcome> {
    let n = setup.point.threads as usize;
    threads::run(setup, n, None)
}

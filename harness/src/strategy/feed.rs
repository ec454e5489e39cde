//! Arrivals: when tasks enter the strategy's queue, and when a point has done enough.
//! Shared by every strategy, so they differ only in how tasks meet threads.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use workloads::Rng;

use crate::scenario::{Arrival, TaskBudget};

/// Counts tasks in flight; `wait` returns when all submitted tasks have finished.
#[derive(Debug, Default)]
pub struct Latch {
    pending: Mutex<u64>,
    idle: Condvar,
}

impl Latch {
    pub fn add(&self, n: u64) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) += n;
    }

    pub fn done(&self) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *p = p.saturating_sub(1);
        if *p == 0 {
            self.idle.notify_all();
        }
    }

    pub fn wait(&self) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while *p > 0 {
            p = self.idle.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Decides, for closed-loop (batch) runs with a time budget, whether a finished task is
/// replaced by a new one.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub budget: TaskBudget,
    pub start: Instant,
}

impl Budget {
    pub fn refill(&self) -> bool {
        matches!(self.budget, TaskBudget::Duration(d) if self.start.elapsed() < d)
    }
}

/// Submits tasks with `submit(task_index, arrival_instant)` following the arrival process,
/// from the calling thread. For batch arrivals with a time budget it queues `2 * threads`
/// tasks (enough to keep every thread busy); the strategy refills on completion.
pub fn feed(
    arrival: Arrival,
    budget: TaskBudget,
    threads: u32,
    seed: u64,
    mut submit: impl FnMut(u64, Instant),
) {
    let start = Instant::now();
    match arrival {
        Arrival::Batch => {
            let n = match budget {
                TaskBudget::Count(n) => n,
                TaskBudget::Duration(_) => 2 * threads as u64 + 16,
            };
            for i in 0..n {
                submit(i, start);
            }
        }
        Arrival::Poisson { rate_tps } => {
            let mut rng = Rng::new(seed ^ 0xA5A5_5A5A);
            let mean_gap_s = 1.0 / rate_tps.max(1e-9);
            let mut due = Duration::ZERO;
            let mut i = 0u64;
            loop {
                let more = match budget {
                    TaskBudget::Count(n) => i < n,
                    TaskBudget::Duration(d) => due < d,
                };
                if !more {
                    break;
                }
                let at = start + due;
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                submit(i, at);
                i += 1;
                due += Duration::from_secs_f64(rng.exponential(mean_gap_s));
            }
        }
    }
}

/// The seed of task `i`, so its random draws do not depend on which thread runs it.
pub fn task_seed(point_seed: u64, i: u64) -> u64 {
    point_seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

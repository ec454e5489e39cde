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

    pub fn pending(&self) -> u64 {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Like `wait`, but gives up at `deadline`.
    pub fn wait_until(&self, deadline: Instant) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while *p > 0 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            p = self.idle.wait_timeout(p, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
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

    /// With a time budget, the end of the measurement window: tasks still queued or running
    /// then are abandoned, so a point takes its budget however slow its tasks are.
    pub fn deadline(&self) -> Option<Instant> {
        match self.budget {
            TaskBudget::Duration(d) => Some(self.start + d),
            TaskBudget::Count(_) => None,
        }
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
    submit: impl FnMut(u64, Instant),
) {
    let start = Instant::now();
    match arrival {
        Arrival::Batch => {
            let n = match budget {
                TaskBudget::Count(n) => n,
                TaskBudget::Duration(_) => 2 * threads as u64 + 16,
            };
            let mut submit = submit;
            for i in 0..n {
                submit(i, start);
            }
        }
        Arrival::Poisson { rate_tps } => open_loop(rate_tps, 1, budget, seed, start, submit),
        Arrival::Bursty { rate_tps, burst } => open_loop(rate_tps, burst, budget, seed, start, submit),
    }
}

/// Arrivals in groups of `burst` at exponential gaps, `rate_tps` tasks per second on average.
fn open_loop(
    rate_tps: f64,
    burst: u32,
    budget: TaskBudget,
    seed: u64,
    start: Instant,
    mut submit: impl FnMut(u64, Instant),
) {
    let mut rng = Rng::new(seed ^ 0xA5A5_5A5A);
    let burst = u64::from(burst.max(1));
    let mean_gap_s = burst as f64 / rate_tps.max(1e-9);
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
        let last = match budget {
            TaskBudget::Count(n) => (i + burst).min(n),
            TaskBudget::Duration(_) => i + burst,
        };
        for j in i..last {
            submit(j, at);
        }
        i = last;
        due += Duration::from_secs_f64(rng.exponential(mean_gap_s));
    }
}

/// The seed of task `i`, so its random draws do not depend on which thread runs it.
pub fn task_seed(point_seed: u64, i: u64) -> u64 {
    point_seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(arrival: Arrival, budget: TaskBudget) -> Vec<(u64, Instant)> {
        let mut v = Vec::new();
        feed(arrival, budget, 4, 7, |i, at| v.push((i, at)));
        v
    }

    #[test]
    fn batch_submits_everything_at_once() {
        let v = arrivals(Arrival::Batch, TaskBudget::Count(100));
        assert_eq!(v.len(), 100);
        assert!(v.iter().all(|(_, at)| *at == v[0].1));
        // With a time budget: enough to keep every thread busy, refilled by the strategy.
        assert_eq!(arrivals(Arrival::Batch, TaskBudget::Duration(Duration::ZERO)).len(), 24);
    }

    #[test]
    fn bursts_come_in_groups_at_the_mean_rate() {
        let arrival = Arrival::Bursty { rate_tps: 20_000.0, burst: 10 };
        let v = arrivals(arrival, TaskBudget::Count(2005));
        assert_eq!(v.len(), 2005, "the count budget is exact, the last burst cut short");
        assert!(v.windows(2).all(|w| w[1].0 == w[0].0 + 1));
        let groups = v.chunk_by(|a, b| a.1 == b.1).count();
        assert!((190..=201).contains(&groups), "{groups} distinct arrival instants for 201 bursts");
        let span = (v[v.len() - 1].1 - v[0].1).as_secs_f64();
        // 200 exponential gaps of 0.5 ms on average: 0.1 s, loosely.
        assert!(span > 0.05 && span < 0.2, "bursts spread over {span} s");
    }

    #[test]
    fn poisson_stops_at_the_time_budget() {
        let v = arrivals(
            Arrival::Poisson { rate_tps: 10_000.0 },
            TaskBudget::Duration(Duration::from_millis(50)),
        );
        // 500 expected; a Poisson count has sd ~22.
        assert!((380..=620).contains(&v.len()), "{} arrivals", v.len());
    }
}

//! A fixed pool of N threads fed from one FIFO queue: ThreadPoolExecutor(N).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use workloads::Rng;

use super::feed::{feed, task_seed, Budget, Latch};
use super::pool::{Job, Shared, ThreadPool};
use super::{Outcome, Setup};
use crate::measure::{TaskStats, Usage};

/// Accumulators are striped, not per thread: a histogram pair per thread would cost
/// hundreds of MB at 2048 threads, inside the memory cap being measured.
const STRIPES: usize = 16;

pub fn run(setup: Arc<Setup>) -> anyhow::Result<Outcome> {
    let n = setup.point.threads as usize;
    let stats: Arc<Vec<Mutex<TaskStats>>> =
        Arc::new((0..STRIPES.min(n)).map(|_| Mutex::new(TaskStats::default())).collect());
    let latch = Arc::new(Latch::default());
    let next = Arc::new(AtomicU64::new(0));
    // Set when measuring starts, after the threads are up.
    let budget = Arc::new(OnceLock::<Budget>::new());
    let queue = Arc::new(Shared::default());
    // Closed at the end of the measurement window: later completions are not counted.
    let closed = Arc::new(AtomicBool::new(false));

    let t0 = Instant::now();
    let pool = {
        let (setup, stats, latch, next, budget, queue, closed) = (
            setup.clone(),
            stats.clone(),
            latch.clone(),
            next.clone(),
            budget.clone(),
            queue.clone(),
            closed.clone(),
        );
        ThreadPool::start(n, queue.clone(), move |w, job: Job| {
            let mut rng = Rng::new(task_seed(setup.point.seed, job.index));
            let began = Instant::now();
            let times = setup.program.run(&setup.interp, &mut rng);
            {
                let mut stripe = stats[w % stats.len()].lock().unwrap_or_else(|e| e.into_inner());
                if !closed.load(Ordering::Acquire) {
                    stripe.record(&times, began - job.queued_at);
                }
            }
            if budget.get().is_some_and(Budget::refill) {
                latch.add(1);
                queue.push(Job { index: next.fetch_add(1, Ordering::Relaxed), queued_at: Instant::now() });
            }
            latch.done();
        })?
    };
    let spawn = t0.elapsed();

    let usage0 = Usage::now();
    let start = Instant::now();
    let p = &setup.point;
    let window = Budget { budget: p.tasks, start };
    let _ = budget.set(window);
    feed(p.arrival, p.tasks, p.threads, p.seed, |_, at| {
        latch.add(1);
        queue.push(Job { index: next.fetch_add(1, Ordering::Relaxed), queued_at: at });
    });
    match window.deadline() {
        Some(deadline) => latch.wait_until(deadline),
        None => latch.wait(),
    }
    let elapsed = start.elapsed();
    closed.store(true, Ordering::Release);
    let usage = Usage::now().since(&usage0);

    let mut total = TaskStats::default();
    for s in stats.iter() {
        total.merge(&s.lock().unwrap_or_else(|e| e.into_inner()));
    }
    let unfinished = next.load(Ordering::Relaxed).saturating_sub(total.tasks);
    if window.deadline().is_some() {
        pool.detach();
    } else {
        pool.join();
    }
    Ok(Outcome { stats: total, elapsed, spawn, usage, unfinished })
}

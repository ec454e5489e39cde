//! Thread-pool strategies: a FIFO queue served by OS threads, either a fixed number of them
//! (ThreadPoolExecutor(N)) or as many as a controller asks for, re-decided every interval.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use workloads::Rng;

use super::feed::{feed, task_seed, Budget, Latch};
use super::pool::{Job, Shared, ThreadPool};
use super::{Outcome, Setup};
use crate::controller::{Controller, Sampler};
use crate::measure::{TaskStats, TimelineRow, Totals, Usage};
use crate::scenario::Arrival;

/// Accumulators are striped, not per thread: a histogram pair per thread would cost
/// hundreds of MB at 2048 threads, inside the memory cap being measured.
const STRIPES: usize = 16;

/// What the workers share.
struct Core {
    setup: Arc<Setup>,
    stats: Vec<Mutex<TaskStats>>,
    latch: Latch,
    next: AtomicU64,
    /// Set when measuring starts, after the threads are up.
    budget: OnceLock<Budget>,
    queue: Arc<Shared>,
    /// Closed at the end of the measurement window: later completions are not counted.
    closed: AtomicBool,
    /// Elastic pools keep each task's end time, for the steady window's P99.
    elastic: bool,
}

impl Core {
    fn submit(&self, queued_at: Instant) {
        self.latch.add(1);
        self.queue.push(Job { index: self.next.fetch_add(1, Ordering::Relaxed), queued_at });
    }

    fn work(&self, w: usize, job: Job) {
        let mut rng = Rng::new(task_seed(self.setup.point.seed, job.index));
        let began = Instant::now();
        let times = self.setup.program.run(&self.setup.interp, &mut rng);
        {
            let mut stripe = self.stats[w % STRIPES].lock().unwrap_or_else(|e| e.into_inner());
            if !self.closed.load(Ordering::Acquire) {
                stripe.record(&times, began - job.queued_at);
                if let Some(b) = self.budget.get() {
                    // The task's end from its start and wall time: no second clock read per task.
                    let since = began.saturating_duration_since(b.start) + times.wall;
                    stripe.count_end(since);
                    if self.elastic {
                        stripe.record_end(since, &times);
                    }
                }
            }
        }
        // Closed loop only: open-loop arrivals come from the feeder alone.
        let batch = matches!(self.setup.point.arrival, Arrival::Batch);
        if batch && self.budget.get().is_some_and(Budget::refill) {
            self.submit(Instant::now());
        }
        self.latch.done();
    }

    fn merged(&self) -> TaskStats {
        let mut total = TaskStats::default();
        for s in &self.stats {
            total.merge(&s.lock().unwrap_or_else(|e| e.into_inner()));
        }
        total
    }

    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.stats {
            t.add(&s.lock().unwrap_or_else(|e| e.into_inner()).totals());
        }
        t
    }
}

/// Runs the point on a pool of `threads` workers, resized by `controller` if there is one.
pub fn run(
    setup: Arc<Setup>,
    threads: usize,
    mut controller: Option<Box<dyn Controller>>,
) -> anyhow::Result<Outcome> {
    let core = Arc::new(Core {
        setup: setup.clone(),
        stats: (0..STRIPES).map(|_| Mutex::new(TaskStats::default())).collect(),
        latch: Latch::default(),
        next: AtomicU64::new(0),
        budget: OnceLock::new(),
        queue: Arc::new(Shared::default()),
        closed: AtomicBool::new(false),
        elastic: controller.is_some(),
    });
    let t0 = Instant::now();
    let worker = core.clone();
    let mut pool = ThreadPool::start(threads, core.queue.clone(), move |w, job| worker.work(w, job))?;
    let spawn = t0.elapsed();

    let usage0 = Usage::now();
    let start = Instant::now();
    let p = &setup.point;
    let window = Budget { budget: p.tasks, start };
    let _ = core.budget.set(window);
    // The feeder holds one count on the latch until it is done, so that an empty latch means
    // every task that will arrive has finished.
    core.latch.add(1);
    let feeder = {
        let (core, p) = (core.clone(), p.clone());
        let initial = threads as u32;
        std::thread::Builder::new().name("feeder".into()).spawn(move || {
            feed(p.arrival, p.tasks, initial, p.seed, |_, at| core.submit(at));
            core.latch.done();
        })?
    };
    let mut timeline = Vec::new();
    match controller.as_mut() {
        None => match window.deadline() {
            Some(deadline) => core.latch.wait_until(deadline),
            None => core.latch.wait(),
        },
        Some(ctl) => control(&core, &mut pool, ctl.as_mut(), threads, window, &mut timeline)?,
    }
    let elapsed = start.elapsed();
    core.closed.store(true, Ordering::Release);
    let usage = Usage::now().since(&usage0);

    let stats = core.merged();
    let unfinished = core.next.load(Ordering::Relaxed).saturating_sub(stats.tasks);
    if window.deadline().is_some() {
        pool.detach();
    } else {
        let _ = feeder.join();
        pool.join();
    }
    Ok(Outcome { stats, elapsed, spawn, usage, unfinished, timeline, tree_memory_mb: None, calibration: None })
}

/// Every controller interval: measure the interval, ask the controller, resize the pool.
fn control(
    core: &Core,
    pool: &mut ThreadPool,
    ctl: &mut dyn Controller,
    threads: usize,
    window: Budget,
    timeline: &mut Vec<TimelineRow>,
) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let interval = Duration::from_secs_f64(ctl.interval_s().max(0.01));
    let mut size = threads as u32;
    let mut sampler = Sampler::new(window.start, core.totals(), cores);
    let mut tick = window.start;
    loop {
        let next_tick = tick + interval;
        let until = window.deadline().map_or(next_tick, |d| d.min(next_tick));
        core.latch.wait_until(until);
        tick = Instant::now();
        if core.latch.pending() == 0 || window.deadline().is_some_and(|d| tick >= d) {
            return Ok(());
        }
        let sample = sampler.next(core.totals(), size, core.queue.len());
        let step = ctl.decide(&sample);
        timeline.push(TimelineRow {
            t_s: sample.t_s,
            threads: size,
            tps: sample.completed as f64 / sample.interval_s,
            beta: sample.beta,
            beta_ewma: step.beta_ewma,
            lock_wait_frac: sample.lock_wait_frac,
            runq_wait_frac: sample.runq_wait_frac,
            queue_len: sample.queue_len,
            cpu_util: sample.cpu_util,
            decision: step.decision.as_str().into(),
            target: step.target,
            vetoes: step.vetoes,
            memory_frac: sample.memory_frac,
        });
        let target = step.target.max(1);
        if target != size {
            pool.resize(target as usize)?;
            // A closed loop keeps 2N + 16 tasks in the system for the current N, as a fixed
            // pool of that size has: growing the pool brings its share of tasks.
            let batch = matches!(core.setup.point.arrival, Arrival::Batch);
            if batch && target > size && window.refill() {
                for _ in 0..2 * (target - size) {
                    core.submit(Instant::now());
                }
            }
            size = target;
        }
    }
}

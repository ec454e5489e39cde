//! `AdaptivePool`: the controllers of this module driving a real thread pool in a Rust
//! service, outside the harness. Each task is instrumented as the harness instruments its
//! own (wall clock, thread CPU clock, run-queue wait from schedstat); every controller
//! interval a monitor thread turns what completed into a [`Sample`] and resizes the pool.
//!
//! ```
//! use gilbench::controller::{AdaptivePool, ControllerSpec};
//!
//! let pool = AdaptivePool::new(&ControllerSpec::default_for("adaptive").unwrap()).unwrap();
//! let handles: Vec<_> = (0..100u64)
//!     .map(|i| {
//!         pool.submit(move || {
//!             std::thread::sleep(std::time::Duration::from_millis(2)); // a remote call
//!             i * i
//!         })
//!     })
//!     .collect();
//! let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//! assert_eq!(sum, (0..100u64).map(|i| i * i).sum::<u64>());
//! pool.shutdown();
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Controller, ControllerSpec, Sampler};
use crate::measure::{sched, TaskStats, Totals};
use crate::runtime::TaskTimes;
use crate::strategy::pool::{Shared, ThreadPool};

/// Runs the work and returns what delivers its result: the worker records the task's
/// times in between, so a caller that has its result also sees it counted.
type Task = Box<dyn FnOnce() -> Deliver + Send>;
type Deliver = Box<dyn FnOnce() + Send>;

/// A thread pool sized by a blocking-ratio controller. Dropping it is `shutdown`.
pub struct AdaptivePool {
    queue: Arc<Shared<Task>>,
    /// `None` once shut down.
    pool: Arc<Mutex<Option<ThreadPool<Task>>>>,
    stats: Arc<Mutex<TaskStats>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    monitor: Option<JoinHandle<()>>,
    size: Arc<AtomicU32>,
}

/// The result of a submitted closure.
pub struct TaskHandle<R> {
    rx: mpsc::Receiver<std::thread::Result<R>>,
}

/// The closure panicked (the worker survives it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the task panicked")]
pub struct TaskPanicked;

impl<R> TaskHandle<R> {
    /// Waits for the closure's result.
    pub fn join(self) -> Result<R, TaskPanicked> {
        match self.rx.recv() {
            Ok(Ok(r)) => Ok(r),
            _ => Err(TaskPanicked),
        }
    }
}

impl AdaptivePool {
    /// Starts the pool at the controller's initial size and its monitor thread.
    pub fn new(spec: &ControllerSpec) -> std::io::Result<AdaptivePool> {
        let mut ctl = spec.build();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let initial = ctl.initial_threads(cores).max(1);
        let queue: Arc<Shared<Task>> = Arc::new(Shared::default());
        let stats = Arc::new(Mutex::new(TaskStats::default()));
        let worker_stats = stats.clone();
        let pool = ThreadPool::start(initial as usize, queue.clone(), move |_, task: Task| {
            let (times, deliver) = instrumented(task);
            worker_stats.lock().unwrap_or_else(|e| e.into_inner()).record(&times, Duration::ZERO);
            deliver();
        })?;
        let pool = Arc::new(Mutex::new(Some(pool)));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let size = Arc::new(AtomicU32::new(initial));
        let monitor = {
            let m = Monitor {
                queue: queue.clone(),
                pool: pool.clone(),
                stats: stats.clone(),
                stop: stop.clone(),
                size: size.clone(),
                cores,
            };
            std::thread::Builder::new()
                .name("adaptive-monitor".into())
                .spawn(move || m.run(&mut *ctl))?
        };
        Ok(AdaptivePool { queue, pool, stats, stop, monitor: Some(monitor), size })
    }

    /// Queues `f`; its result comes back through the handle.
    pub fn submit<F, R>(&self, f: F) -> TaskHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.queue.push(Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            Box::new(move || {
                let _ = tx.send(result);
            }) as Deliver
        }));
        TaskHandle { rx }
    }

    /// The size the controller last asked for.
    pub fn threads(&self) -> u32 {
        self.size.load(Ordering::Relaxed)
    }

    /// Tasks completed so far.
    pub fn completed(&self) -> u64 {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).tasks
    }

    /// Runs what is queued, stops the monitor and joins every thread.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for AdaptivePool {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(h) = self.monitor.take() {
            let _ = h.join();
        }
        if let Some(pool) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take() {
            pool.join();
        }
    }
}

/// Runs one closure with the measurements the controllers read.
fn instrumented(task: Task) -> (TaskTimes, Deliver) {
    let t0 = Instant::now();
    let cpu0 = workloads::thread_cpu_time();
    let rq0 = sched::runq_wait();
    let deliver = task();
    // Same order as the harness's tasks: CPU, run queue, then the wall clock.
    let cpu = workloads::thread_cpu_time().saturating_sub(cpu0);
    let runq_wait = sched::runq_wait().saturating_sub(rq0);
    (TaskTimes { wall: t0.elapsed(), cpu, lock_wait: Duration::ZERO, runq_wait }, deliver)
}

struct Monitor {
    queue: Arc<Shared<Task>>,
    pool: Arc<Mutex<Option<ThreadPool<Task>>>>,
    stats: Arc<Mutex<TaskStats>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    size: Arc<AtomicU32>,
    cores: u32,
}

impl Monitor {
    fn totals(&self) -> Totals {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).totals()
    }

    /// Every controller interval until stopped: sample, decide, resize.
    fn run(&self, ctl: &mut dyn Controller) {
        let interval = Duration::from_secs_f64(ctl.interval_s().max(0.01));
        let mut sampler = Sampler::new(Instant::now(), self.totals(), self.cores);
        loop {
            {
                let (lock, cv) = &*self.stop;
                let stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                let (stopped, _) = cv
                    .wait_timeout_while(stopped, interval, |s| !*s)
                    .unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
            }
            let threads = self.size.load(Ordering::Relaxed);
            let sample = sampler.next(self.totals(), threads, self.queue.len());
            let target = ctl.decide(&sample).target.max(1);
            if target != sample.threads {
                if let Some(pool) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                    if pool.resize(target as usize).is_ok() {
                        self.size.store(target, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_closures_reports_panics_and_shuts_down() {
        let spec = ControllerSpec::default_for("adaptive").unwrap();
        let pool = AdaptivePool::new(&spec).unwrap();
        let handles: Vec<_> = (0..200u64)
            .map(|i| {
                pool.submit(move || {
                    std::thread::sleep(Duration::from_millis(1));
                    i + 1
                })
            })
            .collect();
        let bad = pool.submit(|| -> u64 { panic!("on purpose") });
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 200 * 201 / 2);
        assert_eq!(bad.join(), Err(TaskPanicked));
        assert_eq!(pool.completed(), 201, "the panicking task is counted, the worker survives");
        assert!(pool.threads() >= 1);
        let t0 = Instant::now();
        pool.shutdown();
        assert!(t0.elapsed() < Duration::from_secs(5), "shutdown took {:?}", t0.elapsed());
    }

    #[test]
    fn the_controller_resizes_the_pool() {
        // I/O-bound closures and a long queue: any of the controllers grows past its start.
        let spec = ControllerSpec::default_for("queue-scaler").unwrap();
        let pool = AdaptivePool::new(&spec).unwrap();
        let start = pool.threads();
        let handles: Vec<_> = (0..3000)
            .map(|_| pool.submit(|| std::thread::sleep(Duration::from_millis(2))))
            .collect();
        let t0 = Instant::now();
        while pool.threads() <= start && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(pool.threads() > start, "stayed at {start} threads with a long queue");
        for h in handles {
            h.join().unwrap();
        }
        pool.shutdown();
    }
}

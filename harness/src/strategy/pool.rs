//! A pool of OS threads fed from one FIFO queue, as CPython's ThreadPoolExecutor is: idle
//! workers block on the queue's condition variable and burn no CPU.
//!
//! Not rayon: rayon's idle workers spin and yield before they sleep. Pinned to one core,
//! building a rayon pool of 2048 threads took 4.3 s here (40 ms for plain threads), and that
//! spinning would show up as a throughput cliff of the pool rather than of the runtime.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

/// Stack of each worker: the kernels need little; keeps 4096 threads cheap in address space.
const STACK_BYTES: usize = 512 * 1024;

/// One queued task: its index and when it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub index: u64,
    pub queued_at: Instant,
}

struct Queue<J> {
    jobs: VecDeque<J>,
    idle: usize,
    closed: bool,
    /// Workers alive, and how many there should be: a worker that finds `live > target`
    /// before taking a job exits (how a pool shrinks without interrupting tasks).
    live: usize,
    target: usize,
}

/// The queue the workers serve; `J` is what a job carries (a task index for the harness's
/// strategies, a boxed closure for `AdaptivePool`).
pub struct Shared<J = Job> {
    queue: Mutex<Queue<J>>,
    ready: Condvar,
}

impl<J> Default for Shared<J> {
    fn default() -> Self {
        Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                idle: 0,
                closed: false,
                live: 0,
                target: 0,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<J: Send + 'static> Shared<J> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<J>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, job: J) {
        let mut q = self.lock();
        q.jobs.push_back(job);
        if q.idle > 0 {
            self.ready.notify_one();
        }
    }

    /// Jobs waiting for a thread.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until a job is there; `None` once the pool is closed and drained, or when
    /// this worker is one too many.
    fn pop(&self) -> Option<J> {
        let mut q = self.lock();
        loop {
            if q.live > q.target {
                q.live -= 1;
                return None;
            }
            if let Some(j) = q.jobs.pop_front() {
                return Some(j);
            }
            if q.closed {
                return None;
            }
            q.idle += 1;
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            q.idle -= 1;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Drops what is still queued and closes the queue; returns how many jobs were dropped.
    pub fn abandon(&self) -> usize {
        let mut q = self.lock();
        let dropped = q.jobs.len();
        q.jobs.clear();
        q.closed = true;
        self.ready.notify_all();
        dropped
    }
}

type Work<J> = Arc<dyn Fn(usize, J) + Send + Sync>;

pub struct ThreadPool<J = Job> {
    pub shared: Arc<Shared<J>>,
    workers: Vec<JoinHandle<()>>,
    work: Work<J>,
}

impl<J: Send + 'static> ThreadPool<J> {
    /// Starts `n` workers on `shared`; worker `w` runs `work(w, job)` for each job it takes.
    /// Worker numbers are never reused, so `w` can index per-worker state modulo its size.
    pub fn start<F>(n: usize, shared: Arc<Shared<J>>, work: F) -> std::io::Result<ThreadPool<J>>
    where
        F: Fn(usize, J) + Send + Sync + 'static,
    {
        let mut pool = ThreadPool { shared, workers: Vec::with_capacity(n), work: Arc::new(work) };
        pool.resize(n)?;
        Ok(pool)
    }

    /// Grows to `n` workers at once, or lets the extra ones exit after their current job.
    pub fn resize(&mut self, n: usize) -> std::io::Result<()> {
        let grow = {
            let mut q = self.shared.lock();
            q.target = n;
            let grow = n.saturating_sub(q.live);
            q.live += grow;
            grow
        };
        if grow == 0 {
            // Idle workers wake to see whether they are now too many.
            self.shared.ready.notify_all();
            return Ok(());
        }
        for _ in 0..grow {
            let w = self.workers.len();
            let (s, f) = (self.shared.clone(), self.work.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{w}"))
                .stack_size(STACK_BYTES)
                .spawn(move || {
                    while let Some(job) = s.pop() {
                        f(w, job);
                    }
                });
            match spawned {
                Ok(h) => self.workers.push(h),
                Err(e) => {
                    self.shared.close();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Workers alive (some may be finishing a job before they exit).
    pub fn live(&self) -> usize {
        self.shared.lock().live
    }

    /// Abandons the queue and leaves the workers to finish their current job on their own
    /// (the point process exits without waiting for them).
    pub fn detach(self) {
        self.shared.abandon();
    }

    /// Lets the workers finish what is queued, then joins them.
    pub fn join(self) {
        self.shared.close();
        for h in self.workers {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn job(index: u64) -> Job {
        Job { index, queued_at: Instant::now() }
    }

    #[test]
    fn resize_grows_and_shrinks_without_losing_jobs() {
        let done = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (d, b, p) = (done.clone(), busy.clone(), peak.clone());
        let queue = Arc::new(Shared::default());
        let mut pool = ThreadPool::start(2, queue.clone(), move |_, _| {
            let now = b.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            b.fetch_sub(1, Ordering::SeqCst);
            d.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        for i in 0..40 {
            queue.push(job(i));
        }
        pool.resize(8).unwrap();
        while done.load(Ordering::SeqCst) < 40 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(peak.load(Ordering::SeqCst) > 2, "growing added concurrency");
        pool.resize(1).unwrap();
        // Idle extra workers exit promptly.
        let t0 = Instant::now();
        while pool.live() > 1 && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(pool.live(), 1);
        peak.store(0, Ordering::SeqCst);
        for i in 0..5 {
            queue.push(job(i));
        }
        while done.load(Ordering::SeqCst) < 45 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1, "one worker left");
        pool.join();
    }
}

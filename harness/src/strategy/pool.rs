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

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
    closed: bool,
}

#[derive(Default)]
pub struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, job: Job) {
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

    /// Blocks until a job is there; `None` once the pool is closed and drained.
    fn pop(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
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

pub struct ThreadPool {
    pub shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `n` workers on `shared`; worker `w` runs `work(w, job)` for each job it takes.
    pub fn start<F>(n: usize, shared: Arc<Shared>, work: F) -> std::io::Result<ThreadPool>
    where
        F: Fn(usize, Job) + Send + Sync + 'static,
    {
        let work = Arc::new(work);
        let mut workers = Vec::with_capacity(n);
        for w in 0..n {
            let (s, f) = (shared.clone(), work.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{w}"))
                .stack_size(STACK_BYTES)
                .spawn(move || {
                    while let Some(job) = s.pop() {
                        f(w, job);
                    }
                });
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    shared.close();
                    return Err(e);
                }
            }
        }
        Ok(ThreadPool { shared, workers })
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

//! An emulated CPython GIL, following the protocol of CPython 3.2+ (Python/ceval_gil.c):
//!
//! - a waiter sleeps on a condition variable with a timeout of the switch interval; when the
//!   timeout passes and no switch happened meanwhile, it sets a drop request;
//! - the holder checks the drop request between small slices of work and, when it is set,
//!   releases the lock and waits until another thread has taken it (FORCE_SWITCHING), then
//!   queues up for the lock again;
//! - blocking calls (I/O, native code) release the lock and take it back afterwards.
//!
//! The time a thread spends in `take` (and in a forced switch) is its lock wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Gil {
    interval: Duration,
    state: Mutex<State>,
    /// Signalled when the lock is released (CPython: gil->cond).
    released: Condvar,
    /// Signalled when a thread takes the lock (CPython: gil->switch_cond).
    switched: Condvar,
    /// Set by a waiter that timed out; polled by the holder between slices.
    drop_request: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    locked: bool,
    /// Incremented on every take: a waiter that times out only requests a drop when no
    /// switch happened during its wait.
    switch_number: u64,
    waiters: usize,
    /// Threads blocked in a forced switch, waiting for someone to take the lock.
    switch_waiters: usize,
}

impl Gil {
    pub fn new(switch_interval: Duration) -> Self {
        Gil {
            interval: switch_interval.max(Duration::from_micros(1)),
            state: Mutex::new(State::default()),
            released: Condvar::new(),
            switched: Condvar::new(),
            drop_request: AtomicBool::new(false),
        }
    }

    pub fn switch_interval(&self) -> Duration {
        self.interval
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is updated in single statements under the lock, so it is consistent
        // even if another thread panicked while holding the mutex.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the lock; returns how long the caller waited for it.
    pub fn take(&self) -> Duration {
        let mut st = self.lock();
        if !st.locked {
            self.mark_taken(&mut st);
            return Duration::ZERO;
        }
        let t0 = Instant::now();
        st.waiters += 1;
        while st.locked {
            let seen = st.switch_number;
            let (guard, res) = self
                .released
                .wait_timeout(st, self.interval)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if res.timed_out() && st.locked && st.switch_number == seen {
                self.drop_request.store(true, Ordering::Release);
            }
        }
        st.waiters -= 1;
        self.mark_taken(&mut st);
        t0.elapsed()
    }

    fn mark_taken(&self, st: &mut State) {
        st.locked = true;
        st.switch_number = st.switch_number.wrapping_add(1);
        if st.switch_waiters > 0 {
            self.switched.notify_all();
        }
        // CPython resets the request once the lock has changed hands.
        self.drop_request.store(false, Ordering::Relaxed);
    }

    /// Releases the lock (for I/O, native code, or the end of a task).
    pub fn drop_lock(&self) {
        let mut st = self.lock();
        st.locked = false;
        if st.waiters > 0 {
            self.released.notify_one();
        }
    }

    /// Whether a waiter asked the holder to let go. Cheap: one atomic load.
    #[inline]
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Acquire)
    }

    /// Called by the holder between slices of work: if a drop was requested, release,
    /// wait until another thread has taken the lock, and take it back. Returns the time
    /// spent away from the lock.
    #[inline]
    pub fn checkpoint(&self) -> Duration {
        if self.drop_requested() {
            self.forced_switch()
        } else {
            Duration::ZERO
        }
    }

    #[cold]
    fn forced_switch(&self) -> Duration {
        let t0 = Instant::now();
        {
            let mut st = self.lock();
            st.locked = false;
            if st.waiters > 0 {
                self.released.notify_one();
                let seen = st.switch_number;
                st.switch_waiters += 1;
                while st.switch_number == seen && st.waiters > 0 {
                    st = self.switched.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                st.switch_waiters -= 1;
            } else {
                // A request with nobody waiting any more (the requester took the lock and
                // left): nothing to hand over.
                self.drop_request.store(false, Ordering::Relaxed);
            }
        }
        self.take();
        t0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn uncontended_take_does_not_wait() {
        let g = Gil::new(Duration::from_millis(5));
        for _ in 0..1000 {
            assert_eq!(g.take(), Duration::ZERO);
            g.drop_lock();
        }
    }

    /// A CPU-bound holder that checks between slices cannot keep a waiter out for much
    /// more than one switch interval.
    #[test]
    fn cpu_bound_holder_yields_after_about_one_interval() {
        let interval = Duration::from_millis(5);
        let g = Arc::new(Gil::new(interval));
        let holding = Arc::new(AtomicBool::new(false));
        let holder = {
            let (g, holding) = (g.clone(), holding.clone());
            thread::spawn(move || {
                g.take();
                holding.store(true, Ordering::Release);
                // 400 ms of CPU-bound slices: without forced switching the waiter would
                // wait all of it.
                let end = Instant::now() + Duration::from_millis(400);
                while Instant::now() < end {
                    std::hint::black_box(workloads::kernels::arith(50));
                    g.checkpoint();
                }
                g.drop_lock();
            })
        };
        while !holding.load(Ordering::Acquire) {
            thread::yield_now();
        }
        let waited = g.take();
        g.drop_lock();
        holder.join().unwrap();
        // One interval plus scheduling slack on a loaded 2-core machine; far below 400 ms.
        assert!(waited < interval * 8, "waiter kept out for {waited:?}");
        assert!(waited >= interval / 2, "waiter got in before any timeout: {waited:?}");
    }

    /// While one thread sleeps with the lock released, another thread runs.
    #[test]
    fn io_phase_lets_another_thread_run() {
        let g = Arc::new(Gil::new(Duration::from_millis(5)));
        let progress = Arc::new(AtomicU64::new(0));
        g.take();
        let other = {
            let (g, progress) = (g.clone(), progress.clone());
            thread::spawn(move || {
                let waited = g.take();
                progress.store(1, Ordering::Release);
                g.drop_lock();
                waited
            })
        };
        thread::sleep(Duration::from_millis(20)); // holding, no checkpoint: other must wait
        assert_eq!(progress.load(Ordering::Acquire), 0, "ran while the lock was held");
        g.drop_lock(); // an I/O phase: release, sleep, take back
        thread::sleep(Duration::from_millis(50));
        assert_eq!(progress.load(Ordering::Acquire), 1, "did not run during the I/O phase");
        g.take();
        g.drop_lock();
        assert!(other.join().unwrap() >= Duration::from_millis(15));
    }

    /// Many threads doing CPU slices under the lock: exactly one inside at any time.
    #[test]
    fn mutual_exclusion_under_contention() {
        let g = Arc::new(Gil::new(Duration::from_micros(200)));
        let inside = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (g, inside) = (g.clone(), inside.clone());
                thread::spawn(move || {
                    for _ in 0..200 {
                        g.take();
                        for _ in 0..5 {
                            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                            std::hint::black_box(workloads::kernels::arith(20));
                            inside.fetch_sub(1, Ordering::SeqCst);
                            g.checkpoint();
                        }
                        g.drop_lock();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}

//! Per-task measurements, accumulated per worker without sharing, merged at the end.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::runtime::TaskTimes;

/// Latencies in microseconds, up to 1000 s, 3 significant digits; u32 counts keep the
/// accumulators small inside the memory cap being measured.
fn histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, 1_000_000_000, 3).expect("static histogram bounds are valid")
}

#[derive(Debug, Clone)]
pub struct TaskStats {
    pub tasks: u64,
    /// Task start to end on its worker (the paper's latency).
    pub service_us: Histogram<u32>,
    /// Arrival to end, including time queued.
    pub response_us: Histogram<u32>,
    /// Elastic pools only: (end in ms since the window's start, service time in us) per
    /// task, so that the P99 of the steady window can be taken once settling is known.
    pub ended: Vec<(u32, u32)>,
    sum_beta: f64,
    sum_lock_frac: f64,
    sum_wall: Duration,
    sum_runq: Duration,
}

impl Default for TaskStats {
    fn default() -> Self {
        TaskStats {
            tasks: 0,
            service_us: histogram(),
            response_us: histogram(),
            ended: Vec::new(),
            sum_beta: 0.0,
            sum_lock_frac: 0.0,
            sum_wall: Duration::ZERO,
            sum_runq: Duration::ZERO,
        }
    }
}

impl TaskStats {
    pub fn record(&mut self, t: &TaskTimes, queued: Duration) {
        self.tasks += 1;
        let wall = t.wall.as_secs_f64().max(1e-9);
        self.sum_beta += (1.0 - t.cpu.as_secs_f64() / wall).clamp(0.0, 1.0);
        self.sum_lock_frac += (t.lock_wait.as_secs_f64() / wall).clamp(0.0, 1.0);
        self.sum_wall += t.wall;
        self.sum_runq += t.runq_wait;
        self.service_us.saturating_record(micros(t.wall));
        self.response_us.saturating_record(micros(t.wall + queued));
    }

    /// Keeps when the task ended, for `quantile_after_ms`.
    pub fn record_end(&mut self, since_start: Duration, t: &TaskTimes) {
        let ms = u32::try_from(since_start.as_millis()).unwrap_or(u32::MAX);
        self.ended.push((ms, u32::try_from(micros(t.wall)).unwrap_or(u32::MAX)));
    }

    pub fn merge(&mut self, other: &TaskStats) {
        self.tasks += other.tasks;
        self.ended.extend_from_slice(&other.ended);
        self.sum_beta += other.sum_beta;
        self.sum_lock_frac += other.sum_lock_frac;
        self.sum_wall += other.sum_wall;
        self.sum_runq += other.sum_runq;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.service_us.add(&other.service_us);
        let _ = self.response_us.add(&other.response_us);
    }

    /// Mean over tasks of beta = 1 - cpu/wall.
    pub fn beta_mean(&self) -> Option<f64> {
        self.totals().beta_mean()
    }

    /// Mean over tasks of the fraction of task time spent waiting for the lock.
    pub fn lock_wait_frac(&self) -> Option<f64> {
        self.totals().lock_wait_frac()
    }

    /// Share of all task time spent runnable but not running (time-weighted).
    pub fn runq_wait_frac(&self) -> Option<f64> {
        self.totals().runq_wait_frac()
    }

    /// Running sums, so that a controller can look at one interval (`now - before`).
    pub fn totals(&self) -> Totals {
        Totals {
            tasks: self.tasks,
            sum_beta: self.sum_beta,
            sum_lock_frac: self.sum_lock_frac,
            sum_wall: self.sum_wall,
            sum_runq: self.sum_runq,
        }
    }

}

/// The sums behind a `TaskStats`, over all tasks so far or over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub tasks: u64,
    sum_beta: f64,
    sum_lock_frac: f64,
    sum_wall: Duration,
    sum_runq: Duration,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        self.tasks += o.tasks;
        self.sum_beta += o.sum_beta;
        self.sum_lock_frac += o.sum_lock_frac;
        self.sum_wall += o.sum_wall;
        self.sum_runq += o.sum_runq;
    }

    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Totals) -> Totals {
        Totals {
            tasks: self.tasks.saturating_sub(before.tasks),
            sum_beta: self.sum_beta - before.sum_beta,
            sum_lock_frac: self.sum_lock_frac - before.sum_lock_frac,
            sum_wall: self.sum_wall.saturating_sub(before.sum_wall),
            sum_runq: self.sum_runq.saturating_sub(before.sum_runq),
        }
    }

    pub fn beta_mean(&self) -> Option<f64> {
        (self.tasks > 0).then(|| self.sum_beta / self.tasks as f64)
    }

    pub fn lock_wait_frac(&self) -> Option<f64> {
        (self.tasks > 0).then(|| self.sum_lock_frac / self.tasks as f64)
    }

    pub fn runq_wait_frac(&self) -> Option<f64> {
        (self.sum_wall > Duration::ZERO)
            .then(|| self.sum_runq.as_secs_f64() / self.sum_wall.as_secs_f64())
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

/// A latency histogram of raw microsecond values (the real-CPython driver sends those).
pub fn latency_histogram(values_us: &[u64]) -> Histogram<u32> {
    let mut h = histogram();
    for &v in values_us {
        h.saturating_record(v.max(1));
    }
    h
}

/// Quantile `q` of the service times (us) of the tasks that ended `from_s` seconds or more
/// after the window's start, in ms: the steady window's latency. `tasks`: (end ms, us).
pub fn quantile_after_ms(tasks: impl IntoIterator<Item = (u32, u64)>, from_s: f64, q: f64) -> Option<f64> {
    let from_ms = (from_s.max(0.0) * 1000.0) as u32;
    let mut h = histogram();
    for (end_ms, us) in tasks {
        if end_ms >= from_ms {
            h.saturating_record(us.max(1));
        }
    }
    quantile_ms(&h, q)
}

/// Quantile of a microsecond histogram, in milliseconds.
pub fn quantile_ms(h: &Histogram<u32>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(wall_ms: u64, cpu_ms: u64, lock_ms: u64) -> TaskTimes {
        TaskTimes {
            wall: Duration::from_millis(wall_ms),
            cpu: Duration::from_millis(cpu_ms),
            lock_wait: Duration::from_millis(lock_ms),
            runq_wait: Duration::from_millis(1),
        }
    }

    #[test]
    fn the_steady_p99_counts_only_tasks_that_ended_after_settling() {
        // Slow tasks (100 ms) while settling, fast ones (2 ms) afterwards.
        let mut s = TaskStats::default();
        for i in 0..100u64 {
            let t = if i < 50 { task(100, 1, 0) } else { task(2, 1, 0) };
            s.record(&t, Duration::ZERO);
            s.record_end(Duration::from_millis(i * 100), &t);
        }
        let all = quantile_ms(&s.service_us, 0.99).unwrap();
        let ended = || s.ended.iter().map(|&(e, us)| (e, u64::from(us)));
        let steady = quantile_after_ms(ended(), 5.0, 0.99).unwrap();
        assert!((99.0..=101.0).contains(&all), "whole window {all}");
        assert!((1.9..=2.1).contains(&steady), "after 5 s {steady}");
        assert_eq!(quantile_after_ms(ended(), 0.0, 0.99), Some(all));
        assert_eq!(quantile_after_ms(ended(), 100.0, 0.99), None);
    }

    #[test]
    fn means_and_quantiles() {
        let mut a = TaskStats::default();
        a.record(&task(10, 10, 0), Duration::ZERO); // beta 0
        let mut b = TaskStats::default();
        b.record(&task(10, 0, 5), Duration::from_millis(90)); // beta 1, half waiting
        a.merge(&b);
        assert_eq!(a.tasks, 2);
        assert!((a.beta_mean().unwrap() - 0.5).abs() < 1e-9);
        assert!((a.lock_wait_frac().unwrap() - 0.25).abs() < 1e-9);
        assert!((a.runq_wait_frac().unwrap() - 0.1).abs() < 1e-9);
        let p100 = quantile_ms(&a.response_us, 1.0).unwrap();
        assert!((p100 - 100.0).abs() < 0.2, "{p100}");
        assert!(TaskStats::default().beta_mean().is_none());
    }
}

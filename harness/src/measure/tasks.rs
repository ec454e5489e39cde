//! Per-task measurements, accumulated per worker without sharing, merged at the end.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::runtime::TaskTimes;

/// Latencies in microseconds, up to 1000 s, 3 significant digits; u32 counts keep the
/// accumulators small inside the memory cap being measured.
fn histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, 1_000_000_000, 3).expect("static histogram bounds are valid")
}

/// Completions are counted in buckets of this many ms since the window's start, for the
/// batch-means error of the throughput (`tps_se`).
pub const BUCKET_MS: u32 = 100;
/// Batches that error is estimated from (degrees of freedom: one less).
pub const BATCHES: usize = 10;

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
    /// Every pool: tasks ended per `BUCKET_MS` since the window's start.
    pub per_bucket: Vec<u32>,
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
            per_bucket: Vec::new(),
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

    /// Counts a task that ended `since_start` after the window began, for `batch_se`.
    pub fn count_end(&mut self, since_start: Duration) {
        count_end_ms(&mut self.per_bucket, u64::try_from(since_start.as_millis()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: &TaskStats) {
        self.tasks += other.tasks;
        self.ended.extend_from_slice(&other.ended);
        if self.per_bucket.len() < other.per_bucket.len() {
            self.per_bucket.resize(other.per_bucket.len(), 0);
        }
        for (a, b) in self.per_bucket.iter_mut().zip(&other.per_bucket) {
            *a = a.saturating_add(*b);
        }
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

/// Adds a task that ended `ms` after the window's start to its `BUCKET_MS` bucket.
pub fn count_end_ms(per_bucket: &mut Vec<u32>, ms: u64) {
    // A run lasts minutes at most; the cap only guards against a nonsense time.
    let i = usize::try_from(ms / u64::from(BUCKET_MS)).unwrap_or(usize::MAX).min(1 << 20);
    if i >= per_bucket.len() {
        per_bucket.resize(i + 1, 0);
    }
    per_bucket[i] = per_bucket[i].saturating_add(1);
}

/// Batch-means standard error of the throughput over `from_s..until_s` seconds of the
/// window: its whole buckets split into `BATCHES` equal batches (a remainder is dropped from
/// the start, where a settling pool still moved), sd of the batch rates / sqrt(BATCHES).
/// This is the error one run can state; slow drift makes neighbouring batches alike, so it
/// can be smaller than the spread between repetitions. None below one bucket per batch.
pub fn batch_se(per_bucket: &[u32], from_s: f64, until_s: f64) -> Option<f64> {
    let bucket_s = f64::from(BUCKET_MS) / 1000.0;
    let first = (from_s.max(0.0) / bucket_s).ceil() as usize;
    let last = (until_s.max(0.0) / bucket_s).floor() as usize;
    let size = last.saturating_sub(first) / BATCHES;
    if size == 0 {
        return None;
    }
    let start = last - size * BATCHES;
    // Buckets past the last recorded completion are real zeros (nothing ended there).
    let count = |i: usize| f64::from(per_bucket.get(i).copied().unwrap_or(0));
    let rates: Vec<f64> = (0..BATCHES)
        .map(|b| (start + b * size..start + (b + 1) * size).map(count).sum::<f64>() / (size as f64 * bucket_s))
        .collect();
    let mean = rates.iter().sum::<f64>() / BATCHES as f64;
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (BATCHES - 1) as f64;
    Some((var / BATCHES as f64).sqrt())
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
    fn the_batch_error_follows_the_spread_of_the_batches() {
        let mut s = TaskStats::default();
        // 2 s: 100 tasks per second in even tenths, 300 in odd ones (batches of 0.2 s
        // are all alike), then 20 s alternating 100 / 300 per whole second.
        for tenth in 0..20u64 {
            let k = if tenth % 2 == 0 { 10 } else { 30 };
            for j in 0..k {
                s.count_end(Duration::from_millis(tenth * 100 + j));
            }
        }
        let mut other = TaskStats::default();
        for sec in 2..22u64 {
            let k = if sec % 2 == 0 { 100 } else { 300 };
            for j in 0..k {
                other.count_end(Duration::from_millis(sec * 1000 + j * 1000 / k));
            }
        }
        s.merge(&other);
        assert_eq!(s.per_bucket.iter().map(|&c| u64::from(c)).sum::<u64>(), 400 + 4000);
        // The first 2 s: ten batches of 0.2 s, each 200 tasks/s: no spread at all.
        let flat = |from, until| batch_se(&s.per_bucket, from, until).is_some_and(|se| se < 1e-9);
        assert!(flat(0.0, 2.0));
        // 2..22 s: ten batches of 2 s, each 200 tasks/s again.
        assert!(flat(2.0, 22.0));
        // 2..12 s: batches of 1 s, 100 and 300 alternating: sd 105.4, se 33.3.
        let se = batch_se(&s.per_bucket, 2.0, 12.0).unwrap();
        assert!((se - 100.0 * (10.0f64 / 9.0).sqrt() / 10f64.sqrt()).abs() < 1e-9, "{se}");
        // Empty buckets after the last completion count as zeros; under one bucket per
        // batch there is no estimate.
        assert!(batch_se(&s.per_bucket, 12.0, 32.0).unwrap() > 0.0);
        assert_eq!(batch_se(&s.per_bucket, 0.0, 0.9), None);
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

//! The monitor side of a controller: running task totals in, one [`Sample`] per interval out.
//! Shared by the harness's elastic pools and by `AdaptivePool`.

use std::time::Instant;

use super::Sample;
use crate::limits::MemoryWatch;
use crate::measure::{Totals, Usage};

pub struct Sampler {
    start: Instant,
    tick: Instant,
    before: Totals,
    usage: Usage,
    cores: u32,
    memory: Option<MemoryWatch>,
}

impl Sampler {
    /// Intervals are measured from `start`, with `totals` as what had completed by then.
    pub fn new(start: Instant, totals: Totals, cores: u32) -> Sampler {
        let memory = MemoryWatch::own();
        Sampler { start, tick: start, before: totals, usage: Usage::now(), cores, memory }
    }

    /// The interval since the previous call: what completed in it (from the running `totals`),
    /// the process CPU it used, and the pool's size and queue during it.
    pub fn next(&mut self, totals: Totals, threads: u32, queue_len: usize) -> Sample {
        let (now, usage) = (Instant::now(), Usage::now());
        let d = totals.since(&self.before);
        let secs = (now - self.tick).as_secs_f64().max(1e-9);
        let cpu_s = usage.since(&self.usage).cpu.as_secs_f64();
        (self.before, self.usage, self.tick) = (totals, usage, now);
        Sample {
            t_s: (now - self.start).as_secs_f64(),
            interval_s: secs,
            threads,
            queue_len,
            completed: d.tasks,
            beta: d.beta_mean(),
            lock_wait_frac: d.lock_wait_frac(),
            runq_wait_frac: d.runq_wait_frac(),
            cpu_util: (cpu_s / (secs * f64::from(self.cores))).min(1.0),
            cores: self.cores,
            memory_frac: self.memory.as_ref().and_then(MemoryWatch::used_frac),
        }
    }
}

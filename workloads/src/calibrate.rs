//! Calibration: how many units of a kernel make a given amount of work on this core.
//! Measured with the thread CPU clock, so preemption during calibration does not inflate
//! the estimate; the best of several trials is kept (the uncontended speed).

use std::time::Duration;

use crate::kernels::Kernel;

/// CPU time consumed by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into a valid timespec; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Units of `kernel` per microsecond of CPU time, best of `trials` runs of about `trial`.
pub fn units_per_us(kernel: Kernel, trial: Duration, trials: u32) -> f64 {
    // The first call builds the kernel's standard input (ms for some): not part of a unit.
    std::hint::black_box(kernel.run(1));
    // Grow the batch until one batch takes at least 1/8 of a trial, then time whole trials.
    let mut batch = 1u64;
    loop {
        let t0 = thread_cpu_time();
        std::hint::black_box(kernel.run(batch));
        if (thread_cpu_time() - t0) * 8 >= trial || batch >= 1 << 30 {
            break;
        }
        batch *= 2;
    }
    let mut best = 0f64;
    for _ in 0..trials.max(1) {
        let t0 = thread_cpu_time();
        let mut units = 0;
        while thread_cpu_time() - t0 < trial {
            std::hint::black_box(kernel.run(batch));
            units += batch;
        }
        let us = (thread_cpu_time() - t0).as_secs_f64() * 1e6;
        best = best.max(units as f64 / us);
    }
    best
}

/// A kernel with its measured speed: turns `work_us` into a fixed unit count.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibrated {
    pub kernel: Kernel,
    pub units_per_us: f64,
}

impl Calibrated {
    pub fn measure(kernel: Kernel) -> Self {
        Calibrated { kernel, units_per_us: units_per_us(kernel, Duration::from_millis(20), 3) }
    }

    /// The fixed amount of work for `work_us` microseconds (at least one unit).
    pub fn units_for(&self, work_us: f64) -> u64 {
        ((work_us * self.units_per_us).round() as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_units_take_about_the_asked_time() {
        let c = Calibrated::measure(Kernel::Arith);
        let units = c.units_for(2000.0);
        let t0 = thread_cpu_time();
        Kernel::Arith.run(units);
        let took_us = (thread_cpu_time() - t0).as_secs_f64() * 1e6;
        // CPU time, not wall time: only frequency changes move it. Loose on purpose.
        assert!(took_us > 500.0 && took_us < 8000.0, "2000 us of arith took {took_us} us");
    }

    #[test]
    fn thread_clock_advances_with_work_only() {
        let t0 = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(20));
        let slept = thread_cpu_time() - t0;
        assert!(slept < Duration::from_millis(5), "sleep used {slept:?} of CPU");
    }
}

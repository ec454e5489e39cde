//! The CPU's speed while a point runs. The same fixed pool's CPU time per task moved between
//! repetitions by 12 % (sd) on the development VM, in spells of seconds to minutes at a constant
//! N (a VM whose host is busy reports no steal time: the lost time is charged to whatever
//! ran). A thread of the point process runs one short trial of one of the point's kernels in
//! turn every `EVERY` and times it with its own CPU clock against the run's calibration; the
//! pool's threads do not hold it up (it needs no lock), and a trial that waits for a CPU does
//! not count the wait. Interrupts are charged to the thread they interrupt, so a pool that
//! wakes thousands of threads (the GIL's handoffs and timed waits) lowers it too: speeds
//! compare between points at similar N. It costs ~0.25 % of one core, the same for every
//! strategy. A point's speed is over the window whose throughput the report compares: the
//! whole run, or an elastic pool's steady window (a slow spell there is what the steady TPS
//! lost, whatever the search before it ran at).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use workloads::{thread_cpu_time, Calibrated, Kernel, Phase};

/// Time between two trials, and the CPU time of one (shorter than a scheduler slice, so that
/// a trial mostly runs in one piece).
const EVERY: Duration = Duration::from_millis(200);
const TRIAL_US: f64 = 500.0;

/// A kernel to time, its share of a task's work, and its calibrated speed.
type Probe = (Kernel, f64, Calibrated);

/// Samples the CPU's speed on a thread of its own until stopped.
pub struct Meter {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Trials>,
}

/// What a meter measured: each trial's end, its kernel (an index into `weights`) and its speed.
pub struct Trials {
    weights: Vec<f64>,
    trials: Vec<(Instant, usize, f64)>,
}

impl Trials {
    /// The speed over the trials that ended at or after `from`: work per CPU second against
    /// the calibration (1 = as fast as calibrated; calibration keeps the best of its trials, so
    /// an idle machine reads a little below 1), each kernel's mean over its trials, combined
    /// by its share of a task's work; None without a trial.
    pub fn speed_from(&self, from: Instant) -> Option<f64> {
        let mut sums = vec![(0.0, 0u32); self.weights.len()];
        for &(_, k, r) in self.trials.iter().filter(|t| t.0 >= from) {
            sums[k].0 += r;
            sums[k].1 += 1;
        }
        let parts: Vec<(f64, f64)> = self
            .weights
            .iter()
            .zip(&sums)
            .filter(|(_, s)| s.1 > 0)
            .map(|(w, s)| (*w, s.0 / f64::from(s.1)))
            .collect();
        weighted_geomean(&parts)
    }

    /// The speed over every trial.
    pub fn speed(&self) -> Option<f64> {
        self.trials.first().and_then(|t| self.speed_from(t.0))
    }
}

impl Meter {
    /// Starts sampling the kernels of `phases` (all but MobileNetV2, which needs the point's
    /// ONNX session and runs threads of its own) against `calibration`; None when there is no
    /// such kernel or the thread cannot start.
    pub fn start(phases: &[Phase], calibration: &[Calibrated]) -> Option<Meter> {
        let probes: Vec<Probe> = work_by_kernel(phases)
            .into_iter()
            .filter_map(|(k, w)| Some((k, w, *calibration.iter().find(|c| c.kernel == k && c.units_per_us > 0.0)?)))
            .collect();
        if probes.is_empty() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("speed-meter".into()).spawn(move || sample(&probes, &flag)).ok()?;
        Some(Meter { stop, thread })
    }

    /// Stops sampling and hands back the trials (None if the thread panicked).
    pub fn stop(self) -> Option<Trials> {
        self.stop.store(true, Ordering::Release);
        self.thread.thread().unpark();
        self.thread.join().ok()
    }
}

fn sample(probes: &[Probe], stop: &AtomicBool) -> Trials {
    // The first call builds a kernel's standard input: not part of a trial.
    for (k, ..) in probes {
        std::hint::black_box(k.run(1));
    }
    let mut trials = Vec::new();
    for i in (0..probes.len()).cycle() {
        std::thread::park_timeout(EVERY);
        if stop.load(Ordering::Acquire) {
            break;
        }
        let (kernel, _, c) = probes[i];
        let units = c.units_for(TRIAL_US);
        let t0 = thread_cpu_time();
        std::hint::black_box(kernel.run(units));
        let us = (thread_cpu_time() - t0).as_secs_f64() * 1e6;
        if us > 0.0 {
            trials.push((Instant::now(), i, units as f64 / us / c.units_per_us));
        }
    }
    Trials { weights: probes.iter().map(|p| p.1).collect(), trials }
}

/// Each kernel to time with its share of a task's work (work_us summed over its phases).
fn work_by_kernel(phases: &[Phase]) -> Vec<(Kernel, f64)> {
    let mut out: Vec<(Kernel, f64)> = Vec::new();
    for p in phases {
        if let Phase::Cpu(w) | Phase::Native(w) = p {
            if w.kernel == Kernel::Mobilenetv2 || w.work_us.0 <= 0.0 {
                continue;
            }
            match out.iter_mut().find(|(k, _)| *k == w.kernel) {
                Some(e) => e.1 += w.work_us.0,
                None => out.push((w.kernel, w.work_us.0)),
            }
        }
    }
    out
}

/// The geometric mean of ratios weighted by (weight, ratio) pairs; None without weight.
fn weighted_geomean(parts: &[(f64, f64)]) -> Option<f64> {
    let total: f64 = parts.iter().map(|p| p.0).sum();
    (total > 0.0 && parts.iter().all(|p| p.1 > 0.0))
        .then(|| (parts.iter().map(|(w, r)| w * r.ln()).sum::<f64>() / total).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::{NonNeg, Work};

    fn phase(kernel: Kernel, us: f64, native: bool) -> Phase {
        let w = Work { kernel, work_us: NonNeg(us) };
        if native {
            Phase::Native(w)
        } else {
            Phase::Cpu(w)
        }
    }

    #[test]
    fn work_is_summed_per_kernel_without_mobilenet() {
        let phases = [
            phase(Kernel::Arith, 500.0, false),
            phase(Kernel::Matmul, 3000.0, true),
            phase(Kernel::Arith, 250.0, false),
            phase(Kernel::Mobilenetv2, 9000.0, true),
        ];
        assert_eq!(work_by_kernel(&phases), [(Kernel::Arith, 750.0), (Kernel::Matmul, 3000.0)]);
    }

    #[test]
    fn ratios_combine_by_their_share_of_the_work() {
        // 3/4 of the work at 0.5x and 1/4 at 1x: exp(0.75 ln 0.5) = 0.5946.
        let g = weighted_geomean(&[(3.0, 0.5), (1.0, 1.0)]).unwrap();
        assert!((g - 0.5f64.powf(0.75)).abs() < 1e-12, "{g}");
        assert_eq!(weighted_geomean(&[]), None);
        assert_eq!(weighted_geomean(&[(1.0, 0.0)]), None);
    }

    #[test]
    fn a_window_counts_the_trials_that_ended_in_it() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        // Kernel 0 (3/4 of the work) at 1.0 then 0.5; kernel 1 at 1.0 throughout.
        let t = Trials { weights: vec![3.0, 1.0], trials: vec![(at(0), 0, 1.0), (at(200), 1, 1.0), (at(400), 0, 0.5), (at(600), 1, 1.0)] };
        let all = 0.75f64.powf(0.75);
        assert!((t.speed().unwrap() - all).abs() < 1e-12);
        assert!((t.speed_from(at(300)).unwrap() - 0.5f64.powf(0.75)).abs() < 1e-12);
        assert_eq!(t.speed_from(at(700)), None);
    }

    #[test]
    fn a_meter_reads_a_positive_speed_and_none_without_a_kernel() {
        // How close to 1 depends on the machine (no timing bound here), but a meter that ran
        // a few trials must give a finite positive ratio.
        let phases = [phase(Kernel::Arith, 500.0, false)];
        let cal = [Calibrated::measure(Kernel::Arith)];
        let m = Meter::start(&phases, &cal).expect("a meter");
        std::thread::sleep(EVERY * 3);
        let s = m.stop().and_then(|t| t.speed()).expect("a speed after three intervals");
        assert!(s.is_finite() && s > 0.0, "{s}");
        assert!(Meter::start(&[phase(Kernel::Mobilenetv2, 1.0, true)], &cal).is_none());
        assert!(Meter::start(&phases, &[]).is_none());
    }
}

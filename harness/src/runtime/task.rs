//! A workload compiled for one point: phases with calibrated unit counts, and the loop
//! that runs one task through an interpreter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use workloads::kernels::mobilenet;
use workloads::{thread_cpu_time, Calibrated, Kernel, Latency, Phase, Rng};

use super::Interpreter;
use crate::measure::sched;
use crate::scenario::OnnxConfig;

/// Work between two lock checks: "a few microseconds", like CPython's eval-breaker checks.
const SLICE_US: f64 = 5.0;

/// A phase with its calibrated amount of work.
#[derive(Debug, Clone)]
pub enum Step {
    /// `units` of `kernel` holding the lock, checking for a drop request every `slice` units.
    Cpu { kernel: Kernel, units: u64, slice: u64 },
    /// `units` of `kernel` with the lock released.
    Native { kernel: Kernel, units: u64 },
    Io(Latency),
    Alloc { bytes: usize },
}

#[derive(Debug, Clone, Default)]
pub struct Program {
    steps: Vec<Step>,
}

/// What one task cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskTimes {
    pub wall: Duration,
    pub cpu: Duration,
    pub lock_wait: Duration,
    pub runq_wait: Duration,
}

impl Program {
    /// The compiled phases, for strategies that run them their own way (an event loop).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Loads the ONNX session if a phase runs MobileNetV2, calibrates each kernel the phases
    /// use (once, on the calling thread) and turns `work_us` into fixed unit counts.
    pub fn compile(
        phases: &[Phase],
        onnx: &OnnxConfig,
    ) -> Result<(Program, Vec<Calibrated>), workloads::onnx::OnnxError> {
        Self::compile_with(phases, onnx, &[])
    }

    /// As `compile`, but a kernel found in `known` (the run's calibration) is not measured
    /// again, so that every point of a run does the same work per task.
    pub fn compile_with(
        phases: &[Phase],
        onnx: &OnnxConfig,
        known: &[Calibrated],
    ) -> Result<(Program, Vec<Calibrated>), workloads::onnx::OnnxError> {
        let uses = |k: Kernel| {
            phases.iter().any(|p| matches!(p, Phase::Cpu(w) | Phase::Native(w) if w.kernel == k))
        };
        if uses(Kernel::Mobilenetv2) {
            mobilenet::prepare(onnx.model.as_deref(), onnx.intra_op_threads as usize)?;
        }
        let mut calib: HashMap<Kernel, Calibrated> =
            known.iter().filter(|c| uses(c.kernel)).map(|c| (c.kernel, *c)).collect();
        let mut speed = |k: Kernel| *calib.entry(k).or_insert_with(|| Calibrated::measure(k));
        let steps = phases
            .iter()
            .map(|p| match p {
                Phase::Cpu(w) => {
                    let c = speed(w.kernel);
                    let units = c.units_for(w.work_us.0);
                    Step::Cpu { kernel: w.kernel, units, slice: c.units_for(SLICE_US).min(units) }
                }
                Phase::Native(w) => {
                    Step::Native { kernel: w.kernel, units: speed(w.kernel).units_for(w.work_us.0) }
                }
                Phase::Io(l) => Step::Io(l.clone()),
                Phase::Alloc(a) => Step::Alloc { bytes: (a.mb.0 * 1024.0 * 1024.0) as usize },
            })
            .collect();
        let mut used: Vec<Calibrated> = calib.into_values().collect();
        used.sort_by_key(|c| c.kernel.name());
        Ok((Program { steps }, used))
    }

    /// Runs one task: takes the lock as a Python thread does to run Python code, releases it
    /// around I/O and native phases and at the end.
    pub fn run(&self, interp: &Interpreter, rng: &mut Rng) -> TaskTimes {
        let t0 = Instant::now();
        let cpu0 = thread_cpu_time();
        let rq0 = sched::runq_wait();
        let mut lock_wait = interp.take();
        let mut held: Vec<Vec<u8>> = Vec::new();
        for step in &self.steps {
            match step {
                Step::Cpu { kernel, units, slice } => {
                    lock_wait += cpu_holding_lock(interp, *kernel, *units, *slice);
                }
                Step::Native { kernel, units } => {
                    interp.drop_lock();
                    std::hint::black_box(kernel.run(*units));
                    lock_wait += interp.take();
                }
                Step::Io(latency) => {
                    let ms = latency.sample_ms(rng);
                    interp.drop_lock();
                    std::thread::sleep(Duration::from_secs_f64(ms / 1000.0));
                    lock_wait += interp.take();
                }
                Step::Alloc { bytes } => held.push(touched(*bytes)),
            }
        }
        interp.drop_lock();
        drop(held);
        // Reads in the reverse order of the start, wall clock last: each read is a syscall and
        // so a preemption point, and a wait that happens between two reads must fall inside
        // the wall time rather than only inside the run-queue delta.
        let cpu = thread_cpu_time().saturating_sub(cpu0);
        let runq_wait = sched::runq_wait().saturating_sub(rq0);
        TaskTimes { wall: t0.elapsed(), cpu, lock_wait, runq_wait }
    }
}

/// `units` of `kernel` by the lock holder, checking for a drop request every `slice` units as
/// CPython's eval loop does; returns the time spent away from the lock in forced switches.
pub fn cpu_holding_lock(interp: &Interpreter, kernel: Kernel, units: u64, slice: u64) -> Duration {
    let (mut left, mut waited) = (units, Duration::ZERO);
    while left > 0 {
        let n = left.min(slice.max(1));
        std::hint::black_box(kernel.run(n));
        left -= n;
        waited += interp.checkpoint();
    }
    waited
}

/// A buffer whose every page has been written, so it counts in RSS.
pub fn touched(bytes: usize) -> Vec<u8> {
    let mut v = vec![0u8; bytes];
    for i in (0..bytes).step_by(4096) {
        v[i] = 1;
    }
    std::hint::black_box(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::{NonNeg, Work};

    fn cpu(kernel: Kernel, us: f64) -> Phase {
        Phase::Cpu(Work { kernel, work_us: NonNeg(us) })
    }

    #[test]
    fn a_known_calibration_is_used_as_is_and_the_rest_is_measured() {
        let known = [Calibrated { kernel: Kernel::Arith, units_per_us: 3.0 }];
        let phases = [cpu(Kernel::Arith, 100.0), cpu(Kernel::Json, 10.0)];
        let (program, used) = Program::compile_with(&phases, &OnnxConfig::default(), &known).unwrap();
        match program.steps()[0] {
            Step::Cpu { units, .. } => assert_eq!(units, 300),
            ref s => panic!("{s:?}"),
        }
        assert_eq!(used.len(), 2, "{used:?}");
        assert_eq!(used[0], known[0]);
        let json = used.iter().find(|c| c.kernel == Kernel::Json).unwrap();
        assert!(json.units_per_us > 0.0);
        // A known kernel the phases do not use is not reported as used.
        let (_, used) = Program::compile_with(&phases[1..], &OnnxConfig::default(), &known).unwrap();
        assert!(used.iter().all(|c| c.kernel == Kernel::Json), "{used:?}");
    }
}

//! Workloads for gilbench: phases (the data a workload is made of), compute kernels with
//! checkable results, and their calibration.

pub mod calibrate;
pub mod kernels;
pub mod locate;
pub mod onnx;
pub mod phase;
pub mod rng;

pub use calibrate::{thread_cpu_time, Calibrated};
pub use kernels::Kernel;
pub use phase::{Alloc, Latency, NonNeg, Phase, Range, Work};
pub use rng::Rng;

//! Measurements of a point: per-task latency and time decomposition (beta, lock wait,
//! run-queue wait), process CPU, context switches and memory; the machine's CPU use (host).

pub mod host;
pub mod process;
pub mod sched;
pub mod speed;
pub mod tasks;
pub mod timeline;

pub use host::HostCpu;
pub use process::{peak_rss_mb, Usage};
pub use tasks::{batch_se, count_end_ms, latency_histogram, quantile_after_ms, quantile_ms, TaskStats, Totals, BATCHES};
pub use timeline::{settling, Settling, TimelineRow};
pub mod record;

pub use record::{tps_se, Measurement};

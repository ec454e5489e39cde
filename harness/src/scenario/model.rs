//! The validated scenario and the expanded plan. These types are what the rest of the
//! harness sees; the TOML shapes they are parsed from live in `parse.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workloads::{Calibrated, Phase};

use crate::controller::ControllerSpec;

/// A scenario after parsing, include resolution and validation.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The main file.
    pub path: PathBuf,
    /// Every file read (the main file first, then includes), with its text, for the manifest.
    pub sources: Vec<(PathBuf, String)>,
    pub seed: u64,
    pub repetitions: u32,
    pub time_limit: Duration,
    pub tasks: TaskBudget,
    pub arrival: Arrival,
    pub onnx: OnnxConfig,
    pub devices: BTreeMap<String, Device>,
    pub runtimes: BTreeMap<String, RuntimeSpec>,
    pub workloads: BTreeMap<String, Workload>,
    /// One grid, or several (`[[sweep]]`); a point in two grids runs once.
    pub sweeps: Vec<Sweep>,
}

/// An edge device, emulated by limits on the point's process tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub name: String,
    /// Number of cores (cpuset / affinity).
    pub cpus: u32,
    /// Memory cap of the point's process tree.
    pub memory_mb: Option<u64>,
    /// CPU bandwidth in cores (e.g. 0.5 = half a core), enforced by the CPU controller.
    pub cpu_quota: Option<f64>,
}

/// What a phase does to the interpreter lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RuntimeSpec {
    /// Emulated CPython GIL (3.2+ protocol).
    Gil { switch_interval_us: u64 },
    /// No lock (free-threaded CPython).
    FreeThreaded,
    /// A real CPython interpreter (a version such as "3.12" or a path), running the point in
    /// the Python driver (runtime/cpython.rs).
    Cpython { interpreter: String },
}

impl RuntimeSpec {
    pub const DEFAULT_SWITCH_INTERVAL_US: u64 = 5_000;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub name: String,
    pub description: Option<String>,
    pub phases: Vec<Phase>,
    /// Overrides of the scenario-wide settings for this workload.
    pub tasks: Option<TaskBudget>,
    pub arrival: Option<Arrival>,
}

/// How much work one point does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskBudget {
    /// A fixed number of tasks.
    Count(u64),
    /// Tasks keep coming until this much time has passed.
    Duration(Duration),
}

/// How tasks arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// All tasks queued at once (the paper's method).
    Batch,
    /// Open loop, exponential gaps at the given mean rate.
    Poisson { rate_tps: f64 },
    /// Open loop, `burst` tasks at once, bursts at exponential gaps: mean rate `rate_tps`.
    Bursty { rate_tps: f64, burst: u32 },
}

/// The model behind the `mobilenetv2` kernel (`[onnx]` in a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnnxConfig {
    /// A MobileNetV2 ONNX file; `None`: the one `scripts/setup` builds (models/mobilenetv2.onnx).
    pub model: Option<PathBuf>,
    /// ONNX Runtime's intra-op threads per session.
    pub intra_op_threads: u32,
}

impl Default for OnnxConfig {
    fn default() -> Self {
        OnnxConfig { model: None, intra_op_threads: 1 }
    }
}

/// How tasks meet threads. In TOML a name (`"fixed"`, `"fixed-best"`, `"process"`, `"async"`,
/// `"queue-scaler"`, `"adaptive-paper"`, `"adaptive-betapool"`, `"adaptive"`) or a one-key table
/// with parameters (`{ async = { offload_native = true } }`, `{ adaptive-paper = { beta_thresh = 0.4 } }`).
#[derive(Debug, Clone, PartialEq)]
pub enum StrategySpec {
    /// A fixed pool of N threads.
    Fixed,
    /// A fixed pool at the N that measured best so far among its sweep's fixed pools of the
    /// same device, runtime, workload and repetition, measured again (the runner picks N).
    /// Listed right after a controller, it is a reference taken beside it in time and free of
    /// the winner's curse of the sweep's maximum.
    FixedBest,
    /// N single-threaded worker processes (multiprocessing).
    Process(ProcessParams),
    /// One event-loop thread with N tasks in flight (asyncio).
    Async(AsyncParams),
    /// A pool resized by a controller; the sweep's N does not apply.
    Elastic(ControllerSpec),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessParams {
    /// Memory each worker holds as its interpreter's baseline (a bare CPython's RSS).
    pub interpreter_rss_mb: f64,
}

impl Default for ProcessParams {
    fn default() -> Self {
        ProcessParams { interpreter_rss_mb: crate::strategy::process::DEFAULT_INTERPRETER_RSS_MB }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsyncParams {
    /// Run native phases on a blocking pool (run_in_executor) instead of the loop thread.
    pub offload_native: bool,
}

impl StrategySpec {
    /// The name in keys and CSV rows.
    pub fn name(&self) -> &'static str {
        match self {
            StrategySpec::Fixed => "fixed",
            StrategySpec::FixedBest => "fixed-best",
            StrategySpec::Process(_) => "process",
            StrategySpec::Async(p) if p.offload_native => "async-offload",
            StrategySpec::Async(_) => "async",
            StrategySpec::Elastic(c) => c.name(),
        }
    }

    /// The name in keys and CSV rows: the strategy's name plus the parameters that differ
    /// from its defaults, e.g. `adaptive-paper{beta_thresh=0.4}`, so that a sweep over a
    /// parameter gives distinct points.
    pub fn label(&self) -> String {
        let default = match self {
            StrategySpec::Fixed | StrategySpec::FixedBest => return self.name().to_string(),
            StrategySpec::Process(_) => StrategySpec::Process(ProcessParams::default()),
            StrategySpec::Async(p) => StrategySpec::Async(AsyncParams {
                offload_native: p.offload_native,
            }),
            StrategySpec::Elastic(c) => match ControllerSpec::default_for(c.name()) {
                Some(d) => StrategySpec::Elastic(d),
                None => return self.name().to_string(),
            },
        };
        // Both serialise as a one-key map {name: {param: value}}.
        let params = |s: &StrategySpec| -> serde_json::Map<String, serde_json::Value> {
            match serde_json::to_value(s) {
                Ok(serde_json::Value::Object(m)) => m
                    .into_iter()
                    .next()
                    .and_then(|(_, v)| v.as_object().cloned())
                    .unwrap_or_default(),
                _ => Default::default(),
            }
        };
        let (mine, base) = (params(self), params(&default));
        let changed: Vec<String> = mine
            .iter()
            .filter(|(k, v)| base.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if changed.is_empty() {
            self.name().to_string()
        } else {
            format!("{}{{{}}}", self.name(), changed.join(","))
        }
    }

    /// Whether the strategy picks its own thread count (one point per repetition).
    pub fn is_elastic(&self) -> bool {
        matches!(self, StrategySpec::Elastic(_))
    }

    /// Whether the sweep's thread counts do not apply: one point per repetition, its N
    /// chosen at run time (by a controller, or by the runner for `fixed-best`).
    pub fn sizes_itself(&self) -> bool {
        self.is_elastic() || *self == StrategySpec::FixedBest
    }

    const EXPECTED: &'static str = "one of \"fixed\", \"fixed-best\", \"process\", \"async\", \"queue-scaler\", \
        \"adaptive-paper\", \"adaptive-betapool\", \"adaptive\", or a one-key table with parameters";
}

impl Serialize for StrategySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            StrategySpec::Fixed | StrategySpec::FixedBest => s.serialize_str(self.name()),
            StrategySpec::Process(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("process", p)?;
                m.end()
            }
            StrategySpec::Async(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("async", p)?;
                m.end()
            }
            StrategySpec::Elastic(c) => c.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for StrategySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrategySpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(StrategySpec::EXPECTED)
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<StrategySpec, E> {
                match v {
                    "fixed" => Ok(StrategySpec::Fixed),
                    "fixed-best" => Ok(StrategySpec::FixedBest),
                    "process" => Ok(StrategySpec::Process(ProcessParams::default())),
                    "async" => Ok(StrategySpec::Async(AsyncParams::default())),
                    _ => ControllerSpec::default_for(v).map(StrategySpec::Elastic).ok_or_else(|| {
                        E::custom(format!("unknown strategy {v:?}, expected {}", StrategySpec::EXPECTED))
                    }),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrategySpec, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::custom(format!("empty table, expected {}", StrategySpec::EXPECTED)));
                };
                let spec = match key.as_str() {
                    "async" => StrategySpec::Async(map.next_value()?),
                    "process" => {
                        let p: ProcessParams = map.next_value()?;
                        if !(p.interpreter_rss_mb.is_finite() && p.interpreter_rss_mb >= 0.0) {
                            return Err(A::Error::custom(
                                "process: interpreter_rss_mb must be a number >= 0",
                            ));
                        }
                        StrategySpec::Process(p)
                    }
                    "adaptive-paper" => StrategySpec::Elastic(ControllerSpec::Paper(map.next_value()?)),
                    "adaptive-betapool" => {
                        StrategySpec::Elastic(ControllerSpec::Betapool(map.next_value()?))
                    }
                    "adaptive" => StrategySpec::Elastic(ControllerSpec::Ours(map.next_value()?)),
                    "queue-scaler" => StrategySpec::Elastic(ControllerSpec::Queue(map.next_value()?)),
                    other => {
                        return Err(A::Error::custom(format!(
                            "unknown strategy {other:?} (or one without parameters), expected {}",
                            StrategySpec::EXPECTED
                        )))
                    }
                };
                if let StrategySpec::Elastic(c) = &spec {
                    c.validate().map_err(A::Error::custom)?;
                }
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom("expected one strategy per table"));
                }
                Ok(spec)
            }
        }
        d.deserialize_any(V)
    }
}

/// The cross product to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub name: Option<String>,
    pub repetitions: Option<u32>,
    pub devices: Vec<String>,
    pub runtimes: Vec<String>,
    pub workloads: Vec<String>,
    pub strategies: Vec<StrategySpec>,
    pub threads: Vec<u32>,
}

/// One measurement: everything a point process needs, self-contained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub scenario: String,
    pub device: Device,
    pub runtime_name: String,
    pub runtime: RuntimeSpec,
    pub workload: Workload,
    pub strategy: StrategySpec,
    pub threads: u32,
    pub rep: u32,
    pub tasks: TaskBudget,
    pub arrival: Arrival,
    pub onnx: OnnxConfig,
    /// Derived from the scenario seed and the point's key, so a point draws the same
    /// latencies whatever else runs.
    pub seed: u64,
    pub time_limit: Duration,
    /// The run's calibration of the kernels (measured once by the runner, kept in the
    /// manifest); empty: the point calibrates its own.
    #[serde(default)]
    pub calibration: Vec<Calibrated>,
}

impl Point {
    /// Stable identity used for resume and filters, e.g. `edge-1c/gil/micro/fixed/32/0`.
    pub fn key(&self) -> PointKey {
        PointKey {
            device: self.device.name.clone(),
            runtime: self.runtime_name.clone(),
            workload: self.workload.name.clone(),
            strategy: self.strategy.label(),
            threads: self.threads,
            rep: self.rep,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PointKey {
    pub device: String,
    pub runtime: String,
    pub workload: String,
    pub strategy: String,
    pub threads: u32,
    pub rep: u32,
}

impl std::fmt::Display for PointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/{}",
            self.device, self.runtime, self.workload, self.strategy, self.threads, self.rep
        )
    }
}

/// The expanded list of points, in run order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub points: Vec<Point>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::PaperParams;

    #[test]
    fn labels_carry_the_parameters_that_differ_from_the_defaults() {
        let paper = |beta_thresh, n_max| {
            StrategySpec::Elastic(ControllerSpec::Paper(PaperParams {
                beta_thresh,
                n_max,
                ..PaperParams::default()
            }))
        };
        let d = PaperParams::default();
        assert_eq!(paper(d.beta_thresh, d.n_max).label(), "adaptive-paper");
        assert_eq!(paper(0.4, d.n_max).label(), "adaptive-paper{beta_thresh=0.4}");
        assert_eq!(paper(0.4, 64).label(), "adaptive-paper{beta_thresh=0.4,n_max=64}");
        assert_eq!(StrategySpec::Fixed.label(), "fixed");
        assert_eq!(StrategySpec::FixedBest.label(), "fixed-best");
        let offload = StrategySpec::Async(AsyncParams { offload_native: true });
        assert_eq!(offload.label(), "async-offload");
        let rss = StrategySpec::Process(ProcessParams { interpreter_rss_mb: 20.0 });
        assert_eq!(rss.label(), "process{interpreter_rss_mb=20.0}");
    }
}

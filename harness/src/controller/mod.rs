//! Blocking-ratio controllers: pure functions from observed samples to pool-size decisions.
//!
//! No threads and no clocks live here: the resizable pool (in `strategy/`) measures a
//! [`Sample`] every [`Controller::interval_s`] and applies the [`Step`] that
//! [`Controller::decide`] returns. That keeps every rule unit-testable with scripted samples.
//!
//! Three controllers:
//! - [`PaperController`] (`adaptive-paper`): Algorithm 1 of the paper, as published.
//! - [`BetapoolController`] (`adaptive-betapool`): the rule of the `betapool` 1.0.x library.
//! - [`OursController`] (`adaptive`): Little's-law seeding from the decomposed blocking
//!   ratio, then throughput hill-climbing guarded by measured lock and run-queue waits.

mod adaptive_pool;
mod betapool;
mod ours;
mod paper;
mod queue;
mod sampler;
#[cfg(test)]
mod sim;

pub use adaptive_pool::{AdaptivePool, TaskHandle, TaskPanicked};
pub use betapool::{BetapoolController, BetapoolParams};
pub use ours::{OursController, OursParams};
pub use paper::{PaperController, PaperParams};
pub use queue::{QueueParams, QueueScaler};
pub use sampler::Sampler;

use serde::{Deserialize, Serialize};

/// What the monitor saw over the last interval (all fields measured by the harness).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the point started.
    pub t_s: f64,
    /// Length of this interval.
    pub interval_s: f64,
    /// Pool size during the interval.
    pub threads: u32,
    /// Tasks waiting at the end of the interval.
    pub queue_len: usize,
    /// Tasks completed in the interval.
    pub completed: u64,
    /// Mean blocking ratio 1 - cpu/wall of the tasks completed in the interval
    /// (None: none completed).
    pub beta: Option<f64>,
    /// Mean fraction of task time spent waiting for the interpreter lock.
    pub lock_wait_frac: Option<f64>,
    /// Fraction of task time runnable but not running (CPU oversubscription).
    pub runq_wait_frac: Option<f64>,
    /// Process CPU time / (interval * cores available), 0..=1.
    pub cpu_util: f64,
    /// Cores the point has.
    pub cores: u32,
    /// Memory in use / the memory limit the process runs under (its cgroup's, as the OOM
    /// killer counts it); None without a limit.
    pub memory_frac: Option<f64>,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Hold => "hold",
            Decision::Grow => "grow",
            Decision::Shrink => "shrink",
            Decision::Veto => "veto",
            Decision::Warmup => "warmup",
        }
    }
}

/// What a controller did this interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Hold,
    Grow,
    Shrink,
    /// Growth was wanted but refused (counted in [`Step::vetoes`]). The target may be lower
    /// than before when a failed growth probe is rolled back.
    Veto,
    /// Not enough observations yet; the target is unchanged.
    Warmup,
}

/// One decision: the pool size to apply from now on, and what the controller saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub target: u32,
    pub decision: Decision,
    pub beta_ewma: Option<f64>,
    /// Cumulative number of vetoes since the controller was built.
    pub vetoes: u32,
}

/// A pool-size controller. `decide` is called once per interval, in order.
pub trait Controller: Send {
    fn name(&self) -> &'static str;
    /// Pool size before the first sample.
    fn initial_threads(&self, cores: u32) -> u32;
    /// How often `decide` wants to be called, in seconds.
    fn interval_s(&self) -> f64;
    fn decide(&mut self, s: &Sample) -> Step;
    /// The parameters this controller runs with, for the timeline and the manifest.
    fn spec(&self) -> ControllerSpec;
}

/// A controller chosen by name with its parameters, as a scenario file writes it, e.g. in
/// TOML `strategy.adaptive = {}` or `[strategy.adaptive-paper] beta_thresh = 0.4`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ControllerSpec {
    #[serde(rename = "adaptive-paper")]
    Paper(PaperParams),
    #[serde(rename = "adaptive-betapool")]
    Betapool(BetapoolParams),
    #[serde(rename = "adaptive")]
    Ours(OursParams),
    /// Not a blocking-ratio controller: the queue-depth scaler, the paper's foil.
    #[serde(rename = "queue-scaler")]
    Queue(QueueParams),
}

impl ControllerSpec {
    /// All controller names, in a stable order.
    pub const NAMES: [&'static str; 4] =
        ["adaptive-paper", "adaptive-betapool", "adaptive", "queue-scaler"];

    /// The spec with default parameters for a name, or None for an unknown name.
    pub fn default_for(name: &str) -> Option<Self> {
        match name {
            "adaptive-paper" => Some(Self::Paper(PaperParams::default())),
            "adaptive-betapool" => Some(Self::Betapool(BetapoolParams::default())),
            "adaptive" => Some(Self::Ours(OursParams::default())),
            "queue-scaler" => Some(Self::Queue(QueueParams::default())),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Paper(_) => "adaptive-paper",
            Self::Betapool(_) => "adaptive-betapool",
            Self::Ours(_) => "adaptive",
            Self::Queue(_) => "queue-scaler",
        }
    }

    /// Checks parameter ranges, so that a bad scenario is rejected before a run starts.
    pub fn validate(&self) -> Result<(), InvalidParams> {
        match self {
            Self::Paper(p) => p.validate(),
            Self::Betapool(p) => p.validate(),
            Self::Ours(p) => p.validate(),
            Self::Queue(p) => p.validate(),
        }
    }

    /// Builds the controller. Parameters are used as given; call [`Self::validate`] first
    /// (out-of-range values are clamped defensively, never a panic).
    pub fn build(&self) -> Box<dyn Controller> {
        match self {
            Self::Paper(p) => Box::new(PaperController::new(p.clone())),
            Self::Betapool(p) => Box::new(BetapoolController::new(p.clone())),
            Self::Ours(p) => Box::new(OursController::new(p.clone())),
            Self::Queue(p) => Box::new(QueueScaler::new(p.clone())),
        }
    }
}

/// A parameter out of its range: which controller, which field, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParams {
    pub controller: &'static str,
    pub field: &'static str,
    pub expected: &'static str,
}

impl std::fmt::Display for InvalidParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "controller `{}`: parameter `{}` must be {}",
            self.controller, self.field, self.expected
        )
    }
}

impl std::error::Error for InvalidParams {}

/// Returns an error naming `field` unless `ok`.
pub(crate) fn check(
    ok: bool,
    controller: &'static str,
    field: &'static str,
    expected: &'static str,
) -> Result<(), InvalidParams> {
    if ok {
        Ok(())
    } else {
        Err(InvalidParams {
            controller,
            field,
            expected,
        })
    }
}

/// A measured fraction made safe: None for NaN/infinite, otherwise clamped to 0..=1.
pub(crate) fn frac(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite()).map(|v| v.clamp(0.0, 1.0))
}

/// Bounds as given by parameters, repaired so that 1 <= lo <= hi (never panics in `clamp`).
pub(crate) fn bounds(n_min: u32, n_max: u32) -> (u32, u32) {
    let lo = n_min.max(1);
    (lo, n_max.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_and_rejects_unknown_fields() {
        let spec: ControllerSpec =
            serde_json::from_str(r#"{"adaptive-paper": {"beta_thresh": 0.4}}"#).unwrap();
        match &spec {
            ControllerSpec::Paper(p) => {
                assert_eq!(p.beta_thresh, 0.4);
                assert_eq!(p.n_max, 128, "unspecified fields take the paper's defaults");
            }
            other => panic!("wrong variant {other:?}"),
        }
        let back: ControllerSpec =
            serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        assert!(serde_json::from_str::<ControllerSpec>(r#"{"adaptive": {"bogus": 1}}"#).is_err());
        assert!(serde_json::from_str::<ControllerSpec>(r#"{"nope": {}}"#).is_err());
        let ours: ControllerSpec = serde_json::from_str(r#"{"adaptive": {}}"#).unwrap();
        assert_eq!(ours, ControllerSpec::Ours(OursParams::default()));
    }

    #[test]
    fn names_build_and_validate() {
        for name in ControllerSpec::NAMES {
            let spec = ControllerSpec::default_for(name).unwrap();
            assert_eq!(spec.name(), name);
            assert!(spec.validate().is_ok());
            let c = spec.build();
            assert_eq!(c.name(), name);
            assert_eq!(c.spec(), spec);
            assert!(c.interval_s() > 0.0);
        }
        assert!(ControllerSpec::default_for("fixed").is_none());
        let bad = ControllerSpec::Paper(PaperParams {
            n_min: 10,
            n_max: 5,
            ..Default::default()
        });
        let err = bad.validate().unwrap_err();
        assert_eq!(err.field, "n_max");
        assert!(err.to_string().contains("adaptive-paper"));
    }

    /// Every controller survives degenerate samples (nothing completed, NaNs, zero cores)
    /// and keeps its target inside its bounds.
    #[test]
    fn degenerate_samples_never_panic() {
        for name in ControllerSpec::NAMES {
            let mut c = ControllerSpec::default_for(name).unwrap().build();
            let n0 = c.initial_threads(0);
            assert!(n0 >= 1);
            let mut t = 0.0;
            for i in 0..200u32 {
                t += 0.5;
                let s = Sample {
                    t_s: if i == 50 { f64::NAN } else { t },
                    interval_s: if i % 7 == 0 { 0.0 } else { 0.5 },
                    threads: i % 5,
                    queue_len: (i as usize % 3) * 1000,
                    completed: u64::from(i % 4),
                    beta: match i % 4 {
                        0 => None,
                        1 => Some(f64::NAN),
                        2 => Some(2.0),
                        _ => Some(-1.0),
                    },
                    lock_wait_frac: if i % 2 == 0 {
                        None
                    } else {
                        Some(f64::INFINITY)
                    },
                    runq_wait_frac: Some(0.5),
                    cpu_util: if i % 3 == 0 { f64::NAN } else { 1.5 },
                    cores: i % 3,
                    memory_frac: [None, Some(f64::NAN), Some(0.0), Some(2.0)][i as usize % 4],
                };
                let step = c.decide(&s);
                assert!(step.target >= 1 && step.target <= 1024, "{name}: {step:?}");
                if let Some(b) = step.beta_ewma {
                    assert!((0.0..=1.0).contains(&b), "{name}: {step:?}");
                }
            }
        }
    }
}

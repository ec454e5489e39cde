//! Phases: the data a workload is made of. Parsed from scenario TOML, sent to point
//! processes as JSON. Validation lives in `Deserialize` so that a TOML error carries the
//! span of the offending value (file, line and column come for free).

use serde::{Deserialize, Deserializer, Serialize};

use crate::kernels::Kernel;

/// One step of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Holds the interpreter lock and does a fixed amount of real work of `kernel`,
    /// calibrated to about `work_us` on an uncontended core.
    Cpu(Work),
    /// Releases the lock and sleeps for a duration drawn from the distribution.
    Io(Latency),
    /// Releases the lock and runs native code (as NumPy or ONNX Runtime do).
    Native(Work),
    /// Allocates and touches `mb` megabytes, held until the task ends (working memory).
    Alloc(Alloc),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Work {
    pub kernel: Kernel,
    pub work_us: NonNeg,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alloc {
    pub mb: NonNeg,
}

/// How long an I/O phase sleeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    FixedMs(NonNeg),
    /// `[low, high]`, uniform.
    UniformMs(Range),
    /// Heavy-tailed: exp(N(ln median, sigma)).
    Lognormal { median_ms: NonNeg, sigma: NonNeg },
}

impl Latency {
    /// Mean of the distribution in milliseconds (for plan estimates).
    pub fn mean_ms(&self) -> f64 {
        match self {
            Latency::FixedMs(v) => v.0,
            Latency::UniformMs(r) => (r.low + r.high) / 2.0,
            Latency::Lognormal { median_ms, sigma } => median_ms.0 * (sigma.0 * sigma.0 / 2.0).exp(),
        }
    }

    /// Draw one latency in milliseconds.
    pub fn sample_ms(&self, rng: &mut crate::rng::Rng) -> f64 {
        match self {
            Latency::FixedMs(v) => v.0,
            Latency::UniformMs(r) => r.low + (r.high - r.low) * rng.next_f64(),
            Latency::Lognormal { median_ms, sigma } => {
                median_ms.0 * (sigma.0 * rng.standard_normal()).exp()
            }
        }
    }
}

/// A finite number >= 0 (integers accepted).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct NonNeg(pub f64);

impl<'de> Deserialize<'de> for NonNeg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(NonNeg(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "expected a non-negative number, got {v}"
            )))
        }
    }
}

/// `[low, high]` with 0 <= low <= high.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "[f64; 2]")]
pub struct Range {
    pub low: f64,
    pub high: f64,
}

impl From<Range> for [f64; 2] {
    fn from(r: Range) -> Self {
        [r.low, r.high]
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than deserialise-then-check, so that the error is raised while
        // the array is being read and carries the array's position.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Range;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[low, high] with 0 <= low <= high")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Range, A::Error> {
                use serde::de::Error;
                let low: NonNeg = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let high: NonNeg = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(1, &self))?;
                if seq.next_element::<NonNeg>()?.is_some() {
                    return Err(A::Error::invalid_length(3, &self));
                }
                if low.0 > high.0 {
                    return Err(A::Error::custom(format!(
                        "expected [low, high] with low <= high, got [{}, {}]",
                        low.0, high.0
                    )));
                }
                Ok(Range { low: low.0, high: high.0 })
            }
        }
        d.deserialize_seq(V)
    }
}

impl Phase {
    /// Nominal duration on an uncontended core, for plan estimates.
    pub fn nominal_ms(&self) -> f64 {
        match self {
            Phase::Cpu(w) | Phase::Native(w) => w.work_us.0 / 1000.0,
            Phase::Io(l) => l.mean_ms(),
            Phase::Alloc(_) => 0.0,
        }
    }
}

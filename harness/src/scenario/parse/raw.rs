//! The TOML shapes of scenario files, exactly as written. Value checks that need no context
//! (ranges, powers of two) live in `Deserialize`, so that `toml` attaches the span of the
//! offending value to the error; checks across values (references, duplicates) are done by
//! the caller with the [`Spanned`] positions kept here.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;
use workloads::Phase;

use super::super::model::StrategySpec;

/// Largest thread count a sweep may ask for.
pub const MAX_THREADS: u32 = 4096;

/// The main scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MainFile {
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    pub seed: Option<Seed>,
    pub repetitions: Option<PosU32>,
    pub time_limit_s: Option<Secs>,
    pub tasks: Option<RawTasks>,
    pub arrival: Option<RawArrival>,
    pub onnx: Option<RawOnnx>,
    #[serde(default)]
    pub devices: Named<RawDevice>,
    #[serde(default)]
    pub runtimes: Named<RawRuntime>,
    #[serde(default)]
    pub workloads: Named<RawWorkload>,
    pub sweep: Option<RawSweeps>,
}

/// `[onnx]`: the model the `mobilenetv2` kernel runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOnnx {
    /// Path to a MobileNetV2 ONNX file, relative to the scenario file.
    pub model: Option<Spanned<String>>,
    pub intra_op_threads: Option<PosU32>,
}

/// A file named by `include`: definitions only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludedFile {
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    #[serde(default)]
    pub devices: Named<RawDevice>,
    #[serde(default)]
    pub runtimes: Named<RawRuntime>,
    #[serde(default)]
    pub workloads: Named<RawWorkload>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub cpus: PosU32,
    pub memory_mb: Option<PosU64>,
    pub cpu_quota: Option<PosF64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    Gil,
    FreeThreaded,
    Cpython,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    pub kind: Option<Spanned<RuntimeKind>>,
    pub switch_interval_ms: Option<Spanned<PosF64>>,
    /// A real interpreter: a version ("3.12") or a path; implies kind = "cpython".
    pub cpython: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub description: Option<String>,
    pub phases: Spanned<Vec<Phase>>,
    pub tasks: Option<RawTasks>,
    pub arrival: Option<RawArrival>,
}

/// `{ count = N }` or `{ duration_s = S }`.
#[derive(Debug, Clone, Copy)]
pub enum RawTasks {
    Count(PosU64),
    DurationS(Secs),
}

const TASKS_EXPECTED: &str = "{ count = N } or { duration_s = S }";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TasksForm {
    count: Option<PosU64>,
    duration_s: Option<Secs>,
}

impl<'de> Deserialize<'de> for RawTasks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTasks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(TASKS_EXPECTED)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTasks, A::Error> {
                let form = TasksForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                match (form.count, form.duration_s) {
                    (Some(n), None) => Ok(RawTasks::Count(n)),
                    (None, Some(s)) => Ok(RawTasks::DurationS(s)),
                    (Some(_), Some(_)) => Err(de::Error::custom(format!(
                        "expected {TASKS_EXPECTED}, not both"
                    ))),
                    (None, None) => Err(de::Error::custom(format!(
                        "expected {TASKS_EXPECTED}, got an empty table"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `"batch"`, `{ poisson = { rate_tps = R } }` or `{ bursty = { rate_tps = R, burst = B } }`.
#[derive(Debug, Clone, Copy)]
pub enum RawArrival {
    Batch,
    Poisson { rate_tps: PosF64 },
    Bursty { rate_tps: PosF64, burst: PosU32 },
}

const ARRIVAL_EXPECTED: &str = "\"batch\", { poisson = { rate_tps = R } } or { bursty = { rate_tps = R, burst = B } }";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum ArrivalForm {
    Poisson { rate_tps: PosF64 },
    Bursty { rate_tps: PosF64, burst: PosU32 },
}

impl<'de> Deserialize<'de> for RawArrival {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawArrival;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(ARRIVAL_EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawArrival, E> {
                match v {
                    "batch" => Ok(RawArrival::Batch),
                    _ => Err(E::custom(format!(
                        "unknown arrival {v:?}, expected {ARRIVAL_EXPECTED}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawArrival, A::Error> {
                Ok(match ArrivalForm::deserialize(de::value::MapAccessDeserializer::new(map))? {
                    ArrivalForm::Poisson { rate_tps } => RawArrival::Poisson { rate_tps },
                    ArrivalForm::Bursty { rate_tps, burst } => RawArrival::Bursty { rate_tps, burst },
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of names, as `sweep.devices` etc.
pub type NameList = Spanned<Vec<Spanned<String>>>;

/// `[sweep]` (one grid) or `[[sweep]]` (several, e.g. one per table of a paper).
#[derive(Debug)]
pub struct RawSweeps(pub Vec<RawSweep>);

impl<'de> Deserialize<'de> for RawSweeps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSweeps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table [sweep], or an array of tables [[sweep]]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSweeps, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element()? {
                    out.push(s);
                }
                Ok(RawSweeps(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSweeps, A::Error> {
                Ok(RawSweeps(vec![RawSweep::deserialize(de::value::MapAccessDeserializer::new(map))?]))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// What this grid is for, e.g. "cliff" (several [[sweep]] in one file).
    pub name: Option<Spanned<String>>,
    /// Overrides the scenario's repetitions for this grid.
    pub repetitions: Option<PosU32>,
    pub devices: NameList,
    pub runtimes: NameList,
    pub workloads: NameList,
    pub strategies: Option<Spanned<Vec<Spanned<StrategySpec>>>>,
    pub threads: Spanned<RawThreads>,
}

/// `threads = [1, 4, 32]` or `threads = { pow2 = [1, 2048] }`.
#[derive(Debug)]
pub enum RawThreads {
    List(Vec<Spanned<ThreadCount>>),
    Pow2(Spanned<Vec<Spanned<Pow2>>>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pow2Form {
    pow2: Spanned<Vec<Spanned<Pow2>>>,
}

impl<'de> Deserialize<'de> for RawThreads {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawThreads;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of thread counts such as [1, 4, 32], or { pow2 = [from, to] }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawThreads, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = seq.next_element()? {
                    out.push(n);
                }
                Ok(RawThreads::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawThreads, A::Error> {
                let form = Pow2Form::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawThreads::Pow2(form.pow2))
            }
        }
        d.deserialize_any(V)
    }
}

/// A table of named definitions (`[devices.NAME]`), in file order, with the span of each
/// name so that a duplicate across files can point at both.
#[derive(Debug)]
pub struct Named<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of named definitions, such as [devices.edge-1c]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<T>()?;
                    out.push((name, value));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

// ---- numbers -----------------------------------------------------------------------------
// Checks run inside the visitors: `toml` gives an error the span of the value being
// deserialised only while its deserializer is on the stack.

/// Accepts a TOML integer and checks it.
struct IntVisitor<T> {
    expecting: &'static str,
    check: fn(i128) -> Result<T, String>,
}

impl<'de, T> Visitor<'de> for IntVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.check)(i128::from(v)).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(i128::from(v)).map_err(E::custom)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        (self.check)(v).map_err(E::custom)
    }
}

/// Accepts a TOML float or integer and checks it.
struct NumVisitor<T> {
    expecting: &'static str,
    check: fn(f64) -> Result<T, String>,
}

impl<'de, T> Visitor<'de> for NumVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.check)(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.check)(v as f64).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(v as f64).map_err(E::custom)
    }
}

fn int_in<T: TryFrom<i128>>(v: i128, min: i128, max: i128) -> Result<T, String> {
    if v < min {
        return Err(format!("expected an integer >= {min}, got {v}"));
    }
    if v > max {
        return Err(format!("expected an integer <= {max}, got {v}"));
    }
    T::try_from(v).map_err(|_| format!("expected an integer <= {max}, got {v}"))
}

fn positive(v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("expected a number > 0, got {v}"))
    }
}

/// An integer >= 1 that fits a `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosU32(pub u32);

impl<'de> Deserialize<'de> for PosU32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor {
            expecting: "a positive integer",
            check: |v| int_in(v, 1, i128::from(u32::MAX)).map(PosU32),
        })
    }
}

/// An integer >= 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosU64(pub u64);

impl<'de> Deserialize<'de> for PosU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor {
            expecting: "a positive integer",
            check: |v| int_in(v, 1, i128::from(u64::MAX)).map(PosU64),
        })
    }
}

/// An integer >= 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub u64);

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor {
            expecting: "a non-negative integer",
            check: |v| int_in(v, 0, i128::from(u64::MAX)).map(Seed),
        })
    }
}

/// A finite number > 0 (integers accepted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PosF64(pub f64);

impl<'de> Deserialize<'de> for PosF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor {
            expecting: "a positive number",
            check: |v| positive(v).map(PosF64),
        })
    }
}

/// A positive number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Secs(pub Duration);

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor {
            expecting: "a positive number of seconds",
            check: |v| {
                Duration::try_from_secs_f64(positive(v)?)
                    .map(Secs)
                    .map_err(|_| format!("expected a number of seconds, {v} is too large"))
            },
        })
    }
}

/// One thread count of an explicit list: 1..=4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadCount(pub u32);

impl<'de> Deserialize<'de> for ThreadCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor {
            expecting: "a thread count (an integer in 1..=4096)",
            check: |v| match u32::try_from(v) {
                Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(ThreadCount(n)),
                _ => Err(format!(
                    "expected a thread count in 1..={MAX_THREADS}, got {v}"
                )),
            },
        })
    }
}

/// One end of `pow2 = [from, to]`: a power of two in 1..=4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pow2(pub u32);

impl<'de> Deserialize<'de> for Pow2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor {
            expecting: "a power of two in 1..=4096",
            check: |v| match u32::try_from(v) {
                Ok(n) if n <= MAX_THREADS && n.is_power_of_two() => Ok(Pow2(n)),
                _ => Err(format!(
                    "expected a power of two in 1..={MAX_THREADS} (1, 2, 4, ..., {MAX_THREADS}), got {v}"
                )),
            },
        })
    }
}

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
    #[serde(default)]
    pub devices: Named<RawDevice>,
    #[serde(default)]
    pub runtimes: Named<RawRuntime>,
    #[serde(default)]
    pub workloads: Named<RawWorkload>,
    pub sweep: Option<RawSweep>,
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuntime {
    pub kind: RuntimeKind,
    pub switch_interval_ms: Option<Spanned<PosF64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub description: Option<String>,
    pub phases: Spanned<Vec<Phase>>,
    pub tasks: Option<RawTasks>,
    pub arrival: Option<RawArrival>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawTasks {
    Count(PosU64),
    DurationS(Secs),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawArrival {
    Batch,
    Poisson { rate_tps: PosF64 },
}

/// A list of names, as `sweep.devices` etc.
pub type NameList = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
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

// ---- numbers -------------------------------------------------------------------------------

fn integer_at_least<E: de::Error>(v: i128, min: i128, max: i128) -> Result<i128, E> {
    if v < min {
        Err(E::custom(format!("expected an integer >= {min}, got {v}")))
    } else if v > max {
        Err(E::custom(format!("expected an integer <= {max}, got {v}")))
    } else {
        Ok(v)
    }
}

macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $min:expr, $expecting:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub $ty);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_i128(i128::from(v))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_i128(i128::from(v))
                    }
                    fn visit_i128<E: de::Error>(self, v: i128) -> Result<$name, E> {
                        let v = integer_at_least::<E>(v, $min, i128::from(<$ty>::MAX))?;
                        <$ty>::try_from(v).map($name).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

bounded_int!(
    /// An integer >= 1 that fits a `u32`.
    PosU32, u32, 1, "a positive integer"
);
bounded_int!(
    /// An integer >= 1.
    PosU64, u64, 1, "a positive integer"
);
bounded_int!(
    /// An integer >= 0.
    Seed, u64, 0, "a non-negative integer"
);

/// A finite number > 0 (integers accepted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PosF64(pub f64);

fn positive<E: de::Error>(v: f64) -> Result<f64, E> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(E::custom(format!("expected a number > 0, got {v}")))
    }
}

impl<'de> Deserialize<'de> for PosF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PosF64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a positive number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PosF64, E> {
                positive(v).map(PosF64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PosF64, E> {
                positive(v as f64).map(PosF64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PosF64, E> {
                positive(v as f64).map(PosF64)
            }
        }
        d.deserialize_any(V)
    }
}

/// A positive number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Secs(pub Duration);

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let PosF64(s) = PosF64::deserialize(d)?;
        Duration::try_from_secs_f64(s)
            .map(Secs)
            .map_err(|_| de::Error::custom(format!("expected a number of seconds, {s} is too large")))
    }
}

/// One thread count of an explicit list: 1..=4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadCount(pub u32);

impl<'de> Deserialize<'de> for ThreadCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let PosU32(n) = PosU32::deserialize(d)?;
        if n > MAX_THREADS {
            return Err(de::Error::custom(format!(
                "expected a thread count in 1..={MAX_THREADS}, got {n}"
            )));
        }
        Ok(ThreadCount(n))
    }
}

/// One end of `pow2 = [from, to]`: a power of two in 1..=4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pow2(pub u32);

impl<'de> Deserialize<'de> for Pow2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let PosU32(n) = PosU32::deserialize(d)?;
        if n > MAX_THREADS || !n.is_power_of_two() {
            return Err(de::Error::custom(format!(
                "expected a power of two in 1..={MAX_THREADS} (1, 2, 4, ..., {MAX_THREADS}), got {n}"
            )));
        }
        Ok(Pow2(n))
    }
}

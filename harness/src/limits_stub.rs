// TEMPORARY stub while limits/ is written.
use crate::scenario::Device;
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement { CgroupV2, CgroupV1, Affinity }
impl Enforcement { pub fn as_str(self) -> &'static str { "affinity" } }
impl std::str::FromStr for Enforcement { type Err = (); fn from_str(_: &str) -> Result<Self, ()> { Ok(Enforcement::Affinity) } }
#[derive(Debug, thiserror::Error)] #[error("x")] pub struct LimitsError;
pub struct Limiter;
impl Limiter {
    pub fn detect() -> Limiter { Limiter }
    pub fn with(_: Enforcement) -> Result<Limiter, LimitsError> { Ok(Limiter) }
    pub fn enforcement(&self) -> Enforcement { Enforcement::Affinity }
    pub fn create(&self, _l: &str, _d: &Device) -> Result<PointLimits, LimitsError> { Ok(PointLimits) }
    pub fn finish(&self) -> Result<(), LimitsError> { Ok(()) }
}
pub struct PointLimits;
impl PointLimits {
    pub fn enforcement(&self) -> Enforcement { Enforcement::Affinity }
    pub fn cpus(&self) -> &[usize] { &[0] }
    pub fn memory_enforced(&self) -> bool { false }
    pub fn configure(&self, _c: &mut std::process::Command) {}
    pub fn kill_all(&self) {}
    pub fn oom_killed(&self) -> bool { false }
    pub fn memory_peak_bytes(&self) -> Option<u64> { None }
    pub fn remove(self) -> Result<(), LimitsError> { Ok(()) }
}
pub fn clean_stale() {}

//! manifest.json: what ran where, so a result folder explains itself.

use std::path::Path;

use serde::{Deserialize, Serialize};
use workloads::Calibrated;

use crate::scenario::Scenario;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub gilbench_version: String,
    pub git_revision: String,
    pub rustc_version: String,
    pub created_utc: String,
    pub hostname: String,
    pub kernel: String,
    pub cpu_model: String,
    pub host_cores: usize,
    pub memory_total_mb: u64,
    pub enforcement: String,
    pub schedstat: bool,
    pub scenario_name: String,
    pub scenario_path: String,
    pub points_planned: usize,
    /// Every file the scenario read, with its text.
    pub scenario_files: Vec<SourceFile>,
    /// `gilbench merge`: the folders this one was merged from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The kernels' speed, measured once for the run and given to every point (units of work
    /// per microsecond of CPU time); a resumed run reuses it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<Calibrated>,
    /// The share of the machine's CPU other processes used while the kernels were calibrated
    /// (0..1): above a few percent, the calibrated work is lighter than an idle machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_others_cpu: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

impl Manifest {
    pub fn new(scenario: &Scenario, enforcement: &str, points_planned: usize) -> Manifest {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Manifest {
            gilbench_version: env!("CARGO_PKG_VERSION").into(),
            git_revision: env!("GILBENCH_GIT_REVISION").into(),
            rustc_version: env!("GILBENCH_RUSTC_VERSION").into(),
            created_utc: utc_now(),
            hostname: read("/proc/sys/kernel/hostname").trim().into(),
            kernel: read("/proc/sys/kernel/osrelease").trim().into(),
            cpu_model: read("/proc/cpuinfo")
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .unwrap_or("unknown")
                .trim()
                .into(),
            host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_total_mb: read("/proc/meminfo")
                .lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(0, |kb| kb / 1024),
            enforcement: enforcement.into(),
            schedstat: crate::measure::sched::available(),
            scenario_name: scenario.name.clone(),
            scenario_path: scenario.path.display().to_string(),
            points_planned,
            scenario_files: scenario
                .sources
                .iter()
                .map(|(p, t)| SourceFile { path: p.display().to_string(), text: t.clone() })
                .collect(),
            merged_from: Vec::new(),
            calibration: Vec::new(),
            calibration_others_cpu: None,
        }
    }

    /// The manifest of an existing results folder, if it has a readable one.
    pub fn read(dir: &Path) -> Option<Manifest> {
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).ok()?).ok()
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_515), (2026, 3, 3));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}

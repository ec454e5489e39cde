//! Limits: apply an edge-device profile to a point's process tree, by cgroup v2, cgroup v1,
//! or CPU affinity as a fallback (CPUs only).
//!
//! `Limiter::detect` picks the first usable enforcement once per run; `Limiter::create` makes
//! a `PointLimits` for each point, whose `configure` puts a child `Command` inside the limits
//! between fork and exec, and whose `remove` (or drop) cleans up after the point.

mod affinity;
mod cgroup_v1;
mod cgroup_v2;
mod detect;
mod error;
mod exec;
mod fs;
mod own;
mod stale;
#[cfg(test)]
mod tests_fake;
#[cfg(test)]
mod tests_real;

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::Device;
use cgroup_v1::V1Tree;
use cgroup_v2::V2Tree;
pub use error::LimitsError;
use fs::Hooks;
pub use own::MemoryWatch;
pub use stale::{clean_stale, leftover_dirs};

/// CFS period for CPU quotas: the kernel default, 100 ms.
pub(crate) const PERIOD_US: u64 = 100_000;
/// The kernel refuses quotas below 1 ms per period.
const MIN_QUOTA_US: u64 = 1_000;
pub(crate) const RUNNER_PREFIX: &str = "gilbench-";
/// How long `remove` waits for killed processes to leave the point's cgroups.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn runner_name(pid: u32) -> String {
    format!("{RUNNER_PREFIX}{pid}")
}

/// Process-wide, because all limiters of a process share its runner directory: removing it
/// after one point's last directory must not interleave with another point's creation.
static DIRS: Mutex<()> = Mutex::new(());

pub(crate) fn dirs_lock() -> MutexGuard<'static, ()> {
    DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

/// How the limits of a point are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enforcement {
    #[serde(rename = "cgroup-v2")]
    CgroupV2,
    #[serde(rename = "cgroup-v1")]
    CgroupV1,
    /// CPU affinity only: no memory cap, no CPU quota.
    #[serde(rename = "affinity")]
    Affinity,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::CgroupV2 => "cgroup-v2",
            Enforcement::CgroupV1 => "cgroup-v1",
            Enforcement::Affinity => "affinity",
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Enforcement {
    type Err = LimitsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cgroup-v2" => Ok(Enforcement::CgroupV2),
            "cgroup-v1" => Ok(Enforcement::CgroupV1),
            "affinity" => Ok(Enforcement::Affinity),
            other => Err(LimitsError::UnknownEnforcement(other.to_string())),
        }
    }
}

/// What a point gets, in kernel units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PointSpec {
    pub cpus: Vec<usize>,
    pub memory_bytes: Option<u64>,
    /// CPU time per `PERIOD_US`.
    pub quota_us: Option<u64>,
}

impl PointSpec {
    fn new(device: &Device, host_cpus: &[usize]) -> Result<PointSpec, LimitsError> {
        if device.cpus == 0 {
            return Err(LimitsError::NoCpus {
                device: device.name.clone(),
            });
        }
        let n = usize::try_from(device.cpus)
            .unwrap_or(usize::MAX)
            .min(host_cpus.len());
        let memory_bytes = match device.memory_mb {
            Some(0) => {
                return Err(LimitsError::BadMemory {
                    device: device.name.clone(),
                })
            }
            Some(mb) => Some(mb.saturating_mul(1024 * 1024)),
            None => None,
        };
        let quota_us = match device.cpu_quota {
            Some(q) if !(q.is_finite() && q > 0.0) => {
                return Err(LimitsError::BadQuota {
                    device: device.name.clone(),
                    quota: q,
                })
            }
            // Float to integer casts saturate; the clamp keeps tiny quotas legal.
            Some(q) => Some(((q * PERIOD_US as f64).round() as u64).max(MIN_QUOTA_US)),
            None => None,
        };
        Ok(PointSpec {
            cpus: host_cpus[..n].to_vec(),
            memory_bytes,
            quota_us,
        })
    }
}

#[derive(Debug, Clone)]
enum Backend {
    V2(V2Tree),
    V1(V1Tree),
    Affinity,
}

/// The chosen enforcement, detected once per run.
#[derive(Debug)]
pub struct Limiter {
    backend: Backend,
    host_cpus: Vec<usize>,
    pid: u32,
    skipped: Vec<(Enforcement, LimitsError)>,
}

impl Limiter {
    /// cgroup v2 if usable, else cgroup v1, else affinity. Never fails; `skipped` says why
    /// the better ones were not used.
    pub fn detect() -> Limiter {
        let mut skipped = Vec::new();
        for enforcement in [Enforcement::CgroupV2, Enforcement::CgroupV1] {
            match Limiter::with(enforcement) {
                Ok(mut limiter) => {
                    limiter.skipped = skipped;
                    return limiter;
                }
                Err(e) => skipped.push((enforcement, e)),
            }
        }
        let mut limiter =
            Limiter::from_backend(Backend::Affinity, affinity::current(), std::process::id());
        limiter.skipped = skipped;
        limiter
    }

    /// Forces one enforcement; the error says why it is not usable here.
    pub fn with(enforcement: Enforcement) -> Result<Limiter, LimitsError> {
        let pid = std::process::id();
        let backend = match enforcement {
            Enforcement::CgroupV2 => {
                let root =
                    detect::v2_mount(&detect::mounts()).ok_or_else(|| LimitsError::V2Unusable {
                        reason:
                            "no cgroup2 file system is mounted (see /proc/self/mountinfo): use \
                             --enforcement cgroup-v1 or affinity"
                                .to_string(),
                    })?;
                Backend::V2(V2Tree::open(&root, pid, Hooks::default())?)
            }
            Enforcement::CgroupV1 => {
                let hiers = cgroup_v1::locate(&detect::mounts(), &detect::own_cgroups())?;
                Backend::V1(V1Tree::open(hiers, pid, Hooks::default())?)
            }
            Enforcement::Affinity => Backend::Affinity,
        };
        Ok(Limiter::from_backend(backend, affinity::current(), pid))
    }

    fn from_backend(backend: Backend, host_cpus: Vec<usize>, pid: u32) -> Limiter {
        Limiter {
            backend,
            host_cpus,
            pid,
            skipped: Vec::new(),
        }
    }

    pub fn enforcement(&self) -> Enforcement {
        match self.backend {
            Backend::V2(_) => Enforcement::CgroupV2,
            Backend::V1(_) => Enforcement::CgroupV1,
            Backend::Affinity => Enforcement::Affinity,
        }
    }

    /// Why `detect` passed over the enforcements better than the chosen one (for the log).
    pub fn skipped(&self) -> &[(Enforcement, LimitsError)] {
        &self.skipped
    }

    /// The CPUs this process may use, ascending.
    pub fn host_cpus(&self) -> Vec<usize> {
        self.host_cpus.clone()
    }

    /// Sets up the limits of one point. `label` names its cgroup directory (sanitised).
    pub fn create(&self, label: &str, device: &Device) -> Result<PointLimits, LimitsError> {
        let spec = PointSpec::new(device, &self.host_cpus)?;
        let label = sanitize(label);
        let enforcement = self.enforcement();
        let no_cpu = || LimitsError::NoCpuController {
            device: device.name.clone(),
            enforcement: enforcement.to_string(),
        };
        let (dirs, memory_dir, hooks) = match &self.backend {
            Backend::Affinity => (Vec::new(), None, Hooks::default()),
            Backend::V2(tree) => {
                if spec.quota_us.is_some() && !tree.has_cpu {
                    return Err(no_cpu());
                }
                let _guard = dirs_lock();
                let dir = tree.create(self.pid, &label, &spec)?;
                (vec![dir.clone()], Some(dir), tree.hooks)
            }
            Backend::V1(tree) => {
                if spec.quota_us.is_some() && !tree.has_cpu() {
                    return Err(no_cpu());
                }
                let _guard = dirs_lock();
                let point = tree.create(self.pid, &label, &spec)?;
                (point.dirs, Some(point.memory_dir), tree.hooks)
            }
        };
        Ok(PointLimits {
            enforcement,
            memory_enforced: memory_dir.is_some() && spec.memory_bytes.is_some(),
            cpus: spec.cpus,
            dirs,
            memory_dir,
            hooks,
            groups: Mutex::new(exec::Groups::default()),
            removed: false,
        })
    }
}

/// Keeps `[A-Za-z0-9_-]`, maps the rest to `_` (dots too: names like `memory.max` are control
/// files), and avoids v1's dot-less control file names.
fn sanitize(label: &str) -> String {
    let mut s: String = label
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || matches!(s.as_str(), "tasks" | "notify_on_release" | "release_agent") {
        s.insert_str(0, "point-");
    }
    s
}

/// The limits of one point: its cgroup directories (none under affinity) and CPUs.
#[derive(Debug)]
pub struct PointLimits {
    enforcement: Enforcement,
    cpus: Vec<usize>,
    memory_enforced: bool,
    /// One directory per hierarchy (one under v2, none under affinity).
    dirs: Vec<PathBuf>,
    memory_dir: Option<PathBuf>,
    hooks: Hooks,
    groups: Mutex<exec::Groups>,
    removed: bool,
}

impl PointLimits {
    pub fn enforcement(&self) -> Enforcement {
        self.enforcement
    }

    /// The CPUs given to the point: the first `device.cpus` of the host's, or all of them if
    /// the host has fewer (the caller records the clamped count).
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }

    /// Whether a memory cap is in force: the device has one and a cgroup enforces it.
    pub fn memory_enforced(&self) -> bool {
        self.memory_enforced
    }

    /// Makes the child of `cmd` start its own process group and enter the point's cgroups
    /// (or CPU affinity) before it execs. Spawning fails if it cannot join them.
    pub fn configure(&self, cmd: &mut Command) {
        let procs: Vec<PathBuf> = self.dirs.iter().map(|d| d.join("cgroup.procs")).collect();
        exec::configure(cmd, &procs, &self.cpus, &self.groups);
    }

    /// SIGKILLs every process of the point: the process groups of the children started with
    /// `configure`, and everything in the point's cgroups.
    pub fn kill_all(&self) {
        exec::kill_groups(&self.groups);
        if self.enforcement == Enforcement::CgroupV2 {
            for dir in &self.dirs {
                cgroup_v2::kill(dir);
            }
        }
        exec::kill_procs(&self.dirs);
    }

    /// Whether the OOM killer killed a process of the point.
    pub fn oom_killed(&self) -> bool {
        match (&self.memory_dir, self.enforcement) {
            (Some(dir), Enforcement::CgroupV2) => cgroup_v2::oom_killed(dir),
            (Some(dir), Enforcement::CgroupV1) => cgroup_v1::oom_killed(dir),
            _ => false,
        }
    }

    /// Peak memory use of the point's processes (v2 memory.peak, v1 max_usage_in_bytes).
    pub fn memory_peak_bytes(&self) -> Option<u64> {
        match (&self.memory_dir, self.enforcement) {
            (Some(dir), Enforcement::CgroupV2) => cgroup_v2::memory_peak_bytes(dir),
            (Some(dir), Enforcement::CgroupV1) => cgroup_v1::memory_peak_bytes(dir),
            _ => None,
        }
    }

    /// Kills whatever of the point is still alive (a leftover would disturb later points),
    /// then removes its directories, and the runner's directory once it is empty.
    pub fn remove(mut self) -> Result<(), LimitsError> {
        self.removed = true;
        self.teardown()
    }

    fn teardown(&self) -> Result<(), LimitsError> {
        self.kill_all();
        let _guard = dirs_lock();
        let mut first_err = None;
        for dir in &self.dirs {
            if let Err(source) = fs::rmdir_retry(dir, self.hooks, DRAIN_TIMEOUT) {
                first_err.get_or_insert(LimitsError::Remove {
                    path: dir.clone(),
                    source,
                });
            }
        }
        // Fails (EBUSY / ENOTEMPTY) while other points of this runner exist; the last one wins.
        for runner in self.dirs.iter().filter_map(|d| d.parent()) {
            let _ = fs::rmdir(runner, self.hooks);
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for PointLimits {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.teardown();
        }
    }
}

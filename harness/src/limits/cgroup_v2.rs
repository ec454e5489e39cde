//! cgroup v2: points live in `<mount>/gilbench-<pid>/<label>`, at the top of the hierarchy,
//! because a non-root cgroup that has member processes (the runner's own) may not enable
//! controllers for its children; the root is exempt from that rule.

use std::path::{Path, PathBuf};

use super::error::LimitsError;
use super::fs::{self, Hooks};
use super::{affinity, runner_name, PointSpec, PERIOD_US};

#[derive(Debug, Clone)]
pub(crate) struct V2Tree {
    pub root: PathBuf,
    pub has_cpu: bool,
    pub hooks: Hooks,
}

impl V2Tree {
    /// Checks that the hierarchy at `root` has the controllers and that a runner directory can
    /// be created and set up there (it is removed again unless it already existed).
    pub(crate) fn open(root: &Path, pid: u32, hooks: Hooks) -> Result<V2Tree, LimitsError> {
        let unusable = |reason: String| LimitsError::V2Unusable { reason };
        let controllers_file = root.join("cgroup.controllers");
        let available = fs::read(&controllers_file).map_err(|e| {
            unusable(format!(
                "cannot read {}: use --enforcement cgroup-v1 or affinity",
                e.detail()
            ))
        })?;
        let available: Vec<&str> = available.split_whitespace().collect();
        let missing: Vec<&str> = ["cpuset", "memory"]
            .into_iter()
            .filter(|c| !available.contains(c))
            .collect();
        if !missing.is_empty() {
            return Err(unusable(format!(
                "{} lacks {} (it has: {}); on a hybrid system these controllers are on cgroup v1: use --enforcement cgroup-v1 or affinity",
                controllers_file.display(),
                missing.join(", "),
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(" ")
                },
            )));
        }
        let tree = V2Tree {
            root: root.to_path_buf(),
            has_cpu: available.contains(&"cpu"),
            hooks,
        };
        let _guard = super::dirs_lock();
        let (dir, new) = tree.runner_dir(pid).map_err(|e| {
            if e.is_busy() {
                unusable(format!(
                    "cannot enable controllers ({}): processes live in that cgroup itself, which cgroup v2 \
                     forbids (inside a container /sys/fs/cgroup is usually the container's own cgroup): \
                     run on the host or use --enforcement affinity",
                    e.detail()
                ))
            } else {
                unusable(format!(
                    "{} is not writable ({}): run as root or use --enforcement affinity",
                    tree.root.display(),
                    e.detail()
                ))
            }
        })?;
        if new {
            fs::rmdir(&dir, hooks).map_err(|e| {
                unusable(format!(
                    "cannot remove the test directory {}: {e}: remove it by hand",
                    dir.display()
                ))
            })?;
        }
        Ok(tree)
    }

    fn controllers(&self) -> &'static [&'static str] {
        if self.has_cpu {
            &["cpuset", "memory", "cpu"]
        } else {
            &["cpuset", "memory"]
        }
    }

    /// Creates the runner's directory if needed and enables the controllers for its children
    /// (in the root too). Returns the path and whether it was created now.
    pub(crate) fn runner_dir(&self, pid: u32) -> Result<(PathBuf, bool), LimitsError> {
        enable(&self.root, self.controllers())?;
        let dir = self.root.join(runner_name(pid));
        let new = fs::mkdir_with(&dir, self.hooks, || enable(&dir, self.controllers()))?;
        Ok((dir, new))
    }

    /// Creates and configures the point's directory. The caller holds the dirs lock and has
    /// checked that a quota comes with a cpu controller.
    pub(crate) fn create(
        &self,
        pid: u32,
        label: &str,
        spec: &PointSpec,
    ) -> Result<PathBuf, LimitsError> {
        let (runner, new_runner) = self.runner_dir(pid)?;
        let dir = runner.join(label);
        let result = fs::mkdir_fresh(&dir, self.hooks).and_then(|()| {
            configure(&dir, spec).inspect_err(|_| {
                let _ = fs::rmdir(&dir, self.hooks);
            })
        });
        if result.is_err() && new_runner {
            let _ = fs::rmdir(&runner, self.hooks);
        }
        result.map(|()| dir)
    }
}

/// Adds the missing ones of `controllers` to `dir`'s cgroup.subtree_control.
fn enable(dir: &Path, controllers: &[&str]) -> Result<(), LimitsError> {
    let file = dir.join("cgroup.subtree_control");
    let current = fs::read(&file)?;
    let current: Vec<&str> = current.split_whitespace().collect();
    let missing: Vec<String> = controllers
        .iter()
        .filter(|c| !current.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::write(&file, &missing.join(" "))
}

fn configure(dir: &Path, spec: &PointSpec) -> Result<(), LimitsError> {
    fs::write(&dir.join("cpuset.cpus"), &affinity::format_list(&spec.cpus))?;
    if let Some(bytes) = spec.memory_bytes {
        fs::write(&dir.join("memory.max"), &bytes.to_string())?;
        // Absent when swap accounting is off; then there is no swap to limit either way.
        let swap = dir.join("memory.swap.max");
        if swap.exists() {
            fs::write(&swap, "0")?;
        }
    }
    // An OOM kill takes the whole point down at once rather than leaving it half alive.
    let group = dir.join("memory.oom.group");
    if group.exists() {
        fs::write(&group, "1")?;
    }
    if let Some(quota) = spec.quota_us {
        fs::write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
    }
    Ok(())
}

/// `memory.events` counts OOM kills in the point and below it.
pub(crate) fn oom_killed(dir: &Path) -> bool {
    fs::read_opt(&dir.join("memory.events"))
        .and_then(|t| fs::keyed_value(&t, "oom_kill"))
        .is_some_and(|n| n > 0)
}

/// `memory.peak` exists from Linux 5.19.
pub(crate) fn memory_peak_bytes(dir: &Path) -> Option<u64> {
    fs::read_opt(&dir.join("memory.peak")).and_then(|t| t.trim().parse().ok())
}

/// Writes cgroup.kill (Linux 5.14+), which kills the whole subtree race-free; `false` if absent.
pub(crate) fn kill(dir: &Path) -> bool {
    let file = dir.join("cgroup.kill");
    file.exists() && fs::write(&file, "1").is_ok()
}

//! cgroup v1: one directory per point in each hierarchy it needs (cpuset, memory, and cpu
//! when there is a quota), at `<this process's cgroup>/gilbench-<pid>/<label>`. v1 has no
//! no-internal-processes rule, so the points can sit below the runner's own cgroups.

use std::path::{Path, PathBuf};

use super::detect::{self, Membership, Mount};
use super::error::LimitsError;
use super::fs::{self, Hooks};
use super::{affinity, runner_name, PointSpec, PERIOD_US};

/// One mounted hierarchy; a single mount may carry several controllers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct V1Hier {
    /// This process's cgroup directory in the hierarchy: the runner dirs go in here.
    pub base: PathBuf,
    pub cpuset: bool,
    pub memory: bool,
    pub cpu: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct V1Tree {
    pub hiers: Vec<V1Hier>,
    pub hooks: Hooks,
}

/// What one `create` made: a directory per hierarchy, and which one holds the memory files.
pub(crate) struct V1Point {
    pub dirs: Vec<PathBuf>,
    pub memory_dir: PathBuf,
}

/// The hierarchies for cpuset and memory (required) and cpu (optional), merged by mount.
pub(crate) fn locate(mounts: &[Mount], own: &[Membership]) -> Result<Vec<V1Hier>, LimitsError> {
    let mut hiers: Vec<(PathBuf, V1Hier)> = Vec::new();
    for controller in ["cpuset", "memory", "cpu"] {
        let Some((mount, base)) = detect::v1_place(mounts, own, controller) else {
            if controller == "cpu" {
                continue;
            }
            return Err(LimitsError::V1Unusable {
                reason: format!(
                    "no cgroup v1 hierarchy with the {controller} controller is mounted (see \
                     /proc/self/mountinfo): use --enforcement cgroup-v2 or affinity"
                ),
            });
        };
        let idx = match hiers.iter().position(|(m, _)| *m == mount) {
            Some(i) => i,
            None => {
                hiers.push((
                    mount,
                    V1Hier {
                        base,
                        cpuset: false,
                        memory: false,
                        cpu: false,
                    },
                ));
                hiers.len() - 1
            }
        };
        let h = &mut hiers[idx].1;
        match controller {
            "cpuset" => h.cpuset = true,
            "memory" => h.memory = true,
            _ => h.cpu = true,
        }
    }
    Ok(hiers.into_iter().map(|(_, h)| h).collect())
}

impl V1Hier {
    fn name(&self) -> &'static str {
        if self.memory {
            "memory"
        } else if self.cpuset {
            "cpuset"
        } else {
            "cpu"
        }
    }
}

impl V1Tree {
    /// Checks that a runner directory can be created and set up in every hierarchy (it is
    /// removed again unless it already existed).
    pub(crate) fn open(hiers: Vec<V1Hier>, pid: u32, hooks: Hooks) -> Result<V1Tree, LimitsError> {
        let tree = V1Tree { hiers, hooks };
        let _guard = super::dirs_lock();
        for h in &tree.hiers {
            let (dir, new) = tree.runner_dir(h, pid).map_err(|e| LimitsError::V1Unusable {
                reason: format!(
                    "the {} hierarchy is not writable at {} ({}): run as root or use --enforcement affinity",
                    h.name(),
                    h.base.display(),
                    e.detail()
                ),
            })?;
            if new {
                fs::rmdir(&dir, hooks).map_err(|e| LimitsError::V1Unusable {
                    reason: format!(
                        "cannot remove the test directory {}: {e}: remove it by hand",
                        dir.display()
                    ),
                })?;
            }
        }
        Ok(tree)
    }

    pub(crate) fn has_cpu(&self) -> bool {
        self.hiers.iter().any(|h| h.cpu)
    }

    /// Creates the runner's directory in one hierarchy if needed. A new cpuset cgroup starts
    /// with empty cpus and mems (no process may join it then), so copy them from the parent.
    fn runner_dir(&self, h: &V1Hier, pid: u32) -> Result<(PathBuf, bool), LimitsError> {
        let dir = h.base.join(runner_name(pid));
        let new = fs::mkdir_with(&dir, self.hooks, || {
            if !h.cpuset {
                return Ok(());
            }
            copy_if_empty(&h.base, &dir, "cpuset.cpus")
                .and_then(|()| copy_if_empty(&h.base, &dir, "cpuset.mems"))
        })?;
        Ok((dir, new))
    }

    /// Creates and configures the point's directories. The caller holds the dirs lock and has
    /// checked that a quota comes with a cpu controller.
    pub(crate) fn create(
        &self,
        pid: u32,
        label: &str,
        spec: &PointSpec,
    ) -> Result<V1Point, LimitsError> {
        let mut made: Vec<(PathBuf, bool)> = Vec::new(); // (point dir, runner dir was new)
        let mut memory_dir = None;
        let result = (|| {
            for h in self
                .hiers
                .iter()
                .filter(|h| h.cpuset || h.memory || spec.quota_us.is_some())
            {
                let (runner, new_runner) = self.runner_dir(h, pid)?;
                let dir = runner.join(label);
                if let Err(e) = fs::mkdir_fresh(&dir, self.hooks) {
                    if new_runner {
                        let _ = fs::rmdir(&runner, self.hooks);
                    }
                    return Err(e);
                }
                made.push((dir.clone(), new_runner));
                configure(h, &runner, &dir, spec)?;
                if h.memory {
                    memory_dir = Some(dir);
                }
            }
            Ok(())
        })();
        match (result, memory_dir) {
            (Ok(()), Some(memory_dir)) => Ok(V1Point {
                dirs: made.into_iter().map(|(d, _)| d).collect(),
                memory_dir,
            }),
            (result, _) => {
                for (dir, new_runner) in &made {
                    let _ = fs::rmdir(dir, self.hooks);
                    if let (true, Some(runner)) = (*new_runner, dir.parent()) {
                        let _ = fs::rmdir(runner, self.hooks);
                    }
                }
                Err(result.err().unwrap_or_else(|| LimitsError::V1Unusable {
                    reason: "no memory hierarchy among the located ones".to_string(),
                }))
            }
        }
    }
}

fn copy_if_empty(from: &Path, to: &Path, file: &str) -> Result<(), LimitsError> {
    let target = to.join(file);
    if !fs::read(&target)?.trim().is_empty() {
        return Ok(());
    }
    fs::write(&target, fs::read(&from.join(file))?.trim())
}

fn configure(h: &V1Hier, runner: &Path, dir: &Path, spec: &PointSpec) -> Result<(), LimitsError> {
    if h.cpuset {
        fs::write(&dir.join("cpuset.cpus"), &affinity::format_list(&spec.cpus))?;
        fs::write(
            &dir.join("cpuset.mems"),
            fs::read(&runner.join("cpuset.mems"))?.trim(),
        )?;
    }
    if h.memory {
        if let Some(bytes) = spec.memory_bytes {
            let bytes = bytes.to_string();
            // memsw (memory + swap) may never be below the memory limit: set memory first.
            fs::write(&dir.join("memory.limit_in_bytes"), &bytes)?;
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            let swappiness = dir.join("memory.swappiness");
            if memsw.exists() {
                fs::write(&memsw, &bytes)?;
            } else if swappiness.exists() {
                // No swap accounting: the next best way to keep the point out of swap.
                fs::write(&swappiness, "0")?;
            }
            // A new memcg inherits oom_kill_disable; with it set the point would hang at the
            // cap instead of being killed.
            let oom = dir.join("memory.oom_control");
            if fs::read_opt(&oom).and_then(|t| fs::keyed_value(&t, "oom_kill_disable")) == Some(1) {
                fs::write(&oom, "0")?;
            }
        }
    }
    if h.cpu {
        if let Some(quota) = spec.quota_us {
            fs::write(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
            fs::write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
        }
    }
    Ok(())
}

/// `oom_kill` in memory.oom_control exists from Linux 4.13; older kernels only tell that the
/// cgroup is under OOM or has hit its limit, a weaker sign used as the fallback.
pub(crate) fn oom_killed(dir: &Path) -> bool {
    let control = fs::read_opt(&dir.join("memory.oom_control")).unwrap_or_default();
    if let Some(n) = fs::keyed_value(&control, "oom_kill") {
        return n > 0;
    }
    let failcnt =
        fs::read_opt(&dir.join("memory.failcnt")).and_then(|t| t.trim().parse::<u64>().ok());
    fs::keyed_value(&control, "under_oom").is_some_and(|n| n > 0) || failcnt.is_some_and(|n| n > 0)
}

pub(crate) fn memory_peak_bytes(dir: &Path) -> Option<u64> {
    fs::read_opt(&dir.join("memory.max_usage_in_bytes")).and_then(|t| t.trim().parse().ok())
}

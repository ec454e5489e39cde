//! Finding and removing runner directories (`gilbench-<pid>`) left behind, e.g. by a runner
//! that was killed before it could clean up.

use std::path::{Path, PathBuf};

use super::detect::{self, Membership, Mount};
use super::fs::{self, Hooks};
use super::RUNNER_PREFIX;

/// Every directory where a runner of this machine puts its runner directory: the top of each
/// cgroup2 mount, and this process's cgroup in each v1 hierarchy we use.
pub(crate) fn bases(mounts: &[Mount], own: &[Membership]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.v2)
        .map(|m| m.point.clone())
        .collect();
    for controller in ["cpuset", "memory", "cpu"] {
        if let Some((_, base)) = detect::v1_place(mounts, own, controller) {
            out.push(base);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The pid in a runner directory's name.
pub(crate) fn runner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(RUNNER_PREFIX)?.parse().ok()
}

pub(crate) fn leftover_in(bases: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for base in bases {
        let Ok(entries) = std::fs::read_dir(base) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_runner = entry.file_name().to_str().and_then(runner_pid).is_some();
            if is_runner && entry.path().is_dir() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Removes runner directories whose runner is dead, with their point directories. Any that
/// still hold processes stay (rmdir fails with EBUSY), so nothing running is disturbed.
pub(crate) fn clean_in(bases: &[PathBuf], hooks: Hooks, alive: impl Fn(u32) -> bool) {
    for dir in leftover_in(bases) {
        let pid = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(runner_pid);
        if pid.is_none_or(&alive) {
            continue;
        }
        remove_tree(&dir, hooks);
    }
}

fn remove_tree(dir: &Path, hooks: Hooks) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path(), hooks);
            }
        }
    }
    let _ = fs::rmdir(dir, hooks);
}

pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Runner directories (`gilbench-<pid>`) still present in any hierarchy, alive or not.
pub fn leftover_dirs() -> Vec<PathBuf> {
    leftover_in(&bases(&detect::mounts(), &detect::own_cgroups()))
}

/// Removes the runner directories of runners that are no longer alive (run at start-up).
pub fn clean_stale() {
    clean_in(
        &bases(&detect::mounts(), &detect::own_cgroups()),
        Hooks::default(),
        pid_alive,
    );
}

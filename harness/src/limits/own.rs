//! The memory limit this process runs under, as the OOM killer sees it: the tightest
//! `memory.limit_in_bytes` (v1) or `memory.max` (v2) on the way from this process's cgroup up
//! to the hierarchy's top, and that cgroup's usage. Elastic pools read it so that a controller
//! never grows a pool into the OOM killer (a point's own cgroup inside the harness, a
//! container's limit for `AdaptivePool` users).

use std::path::{Path, PathBuf};

use super::detect::{join_cgroup, mounts, own_cgroups, v1_place, v2_mount, Mount};
use super::fs::read_opt;

/// Limits at or above this are "no limit" (v1 writes 2^63 rounded down to the page size).
const UNLIMITED: u64 = 1 << 60;

/// The limiting cgroup's usage file and its limit.
#[derive(Debug, Clone)]
pub struct MemoryWatch {
    usage: PathBuf,
    limit_bytes: u64,
}

impl MemoryWatch {
    /// The tightest memory limit over this process's cgroups, None without one.
    pub fn own() -> Option<MemoryWatch> {
        let mounts = mounts();
        let own = own_cgroups();
        let v1 = v1_place(&mounts, &own, "memory")
            .and_then(|(top, dir)| tightest(&top, &dir, "memory.limit_in_bytes", "memory.usage_in_bytes"));
        let v2 = v2_dir(&mounts, &own)
            .and_then(|(top, dir)| tightest(&top, &dir, "memory.max", "memory.current"));
        [v1, v2].into_iter().flatten().min_by_key(|w| w.limit_bytes)
    }

    pub fn limit_mb(&self) -> f64 {
        self.limit_bytes as f64 / (1024.0 * 1024.0)
    }

    /// Memory in use / the limit, now.
    pub fn used_frac(&self) -> Option<f64> {
        let used: u64 = read_opt(&self.usage)?.trim().parse().ok()?;
        Some(used as f64 / self.limit_bytes as f64)
    }
}

/// This process's directory in the cgroup2 hierarchy (the `0::` line).
fn v2_dir(mounts: &[Mount], own: &[super::detect::Membership]) -> Option<(PathBuf, PathBuf)> {
    let point = v2_mount(mounts)?;
    let root = mounts.iter().find(|m| m.v2 && m.point == point)?.root.clone();
    let member = own.iter().find(|m| m.controllers.is_empty())?;
    Some((point.clone(), join_cgroup(&point, &root, &member.path)))
}

/// The cgroup with the smallest limit from `dir` up to `top`.
fn tightest(top: &Path, dir: &Path, limit: &str, usage: &str) -> Option<MemoryWatch> {
    let mut best: Option<MemoryWatch> = None;
    for d in dir.ancestors().take_while(|d| d.starts_with(top)) {
        let Some(l) = read_opt(&d.join(limit)).and_then(|t| parse_limit(&t)) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| l < b.limit_bytes) && d.join(usage).exists() {
            best = Some(MemoryWatch {
                usage: d.join(usage),
                limit_bytes: l,
            });
        }
    }
    best
}

/// A limit file's value in bytes; None for "max" and for v1's "unlimited".
fn parse_limit(text: &str) -> Option<u64> {
    let l: u64 = text.trim().parse().ok()?;
    (l > 0 && l < UNLIMITED).then_some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_values_are_no_limit() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(512 << 20));
    }

    #[test]
    fn the_tightest_ancestor_limits() {
        let top = std::env::temp_dir().join(format!("gilbench-own-{}", std::process::id()));
        let leaf = top.join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        let put = |d: &Path, limit: &str, used: &str| {
            std::fs::write(d.join("memory.max"), limit).unwrap();
            std::fs::write(d.join("memory.current"), used).unwrap();
        };
        put(&top, "max\n", "0\n");
        put(&top.join("a"), "1048576\n", "262144\n");
        put(&leaf, "4194304\n", "131072\n");
        let w = tightest(&top, &leaf, "memory.max", "memory.current").unwrap();
        assert_eq!(w.limit_mb(), 1.0);
        assert_eq!(w.used_frac(), Some(0.25));
        std::fs::remove_dir_all(&top).unwrap();
    }
}

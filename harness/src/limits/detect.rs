//! Where the cgroup hierarchies are: mount points from /proc/self/mountinfo and this
//! process's place in each from /proc/self/cgroup. Pure parsing, so it is tested on text.

use std::path::{Path, PathBuf};

/// One cgroup or cgroup2 mount.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mount {
    /// The cgroup the mount shows as its top (field 4; "/" unless bind-mounted or namespaced).
    pub root: String,
    pub point: PathBuf,
    pub v2: bool,
    /// v1 controllers of the hierarchy (super options minus rw/ro and name=...).
    pub controllers: Vec<String>,
}

/// Reads the cgroup mounts of this process.
pub(crate) fn mounts() -> Vec<Mount> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default()
}

/// Reads this process's cgroup memberships.
pub(crate) fn own_cgroups() -> Vec<Membership> {
    std::fs::read_to_string("/proc/self/cgroup")
        .map(|t| parse_proc_cgroup(&t))
        .unwrap_or_default()
}

pub(crate) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let fstype = right.next()?;
            let _source = right.next()?;
            let super_opts = right.next().unwrap_or("");
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                super_opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string)
                    .collect()
            };
            Some(Mount {
                root: unescape(left.get(3)?),
                point: PathBuf::from(unescape(left.get(4)?)),
                v2,
                controllers,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of /proc/self/cgroup: `id:controllers:path` (v2 has id 0 and no controllers).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Membership {
    pub controllers: Vec<String>,
    pub path: String,
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let _id = it.next()?;
            let ctl = it.next()?;
            let path = it.next()?;
            Some(Membership {
                controllers: ctl
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The v1 mount hosting `controller`, and this process's cgroup directory in it.
pub(crate) fn v1_place(
    mounts: &[Mount],
    own: &[Membership],
    controller: &str,
) -> Option<(PathBuf, PathBuf)> {
    let mount = mounts
        .iter()
        .find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))?;
    let member = own
        .iter()
        .find(|m| m.controllers.iter().any(|c| c == controller));
    let dir = match member {
        Some(m) => join_cgroup(&mount.point, &mount.root, &m.path),
        None => mount.point.clone(),
    };
    Some((mount.point.clone(), dir))
}

/// The directory of cgroup `path` under a mount whose top is cgroup `root`. A path outside
/// the mount (possible across cgroup namespaces, shown with "..") maps to the mount point.
pub(crate) fn join_cgroup(point: &Path, root: &str, path: &str) -> PathBuf {
    if path.split('/').any(|c| c == "..") {
        return point.to_path_buf();
    }
    let rel = if root == "/" {
        path
    } else {
        match path.strip_prefix(root) {
            Some(r) if r.is_empty() || r.starts_with('/') => r,
            _ => path,
        }
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        point.to_path_buf()
    } else {
        point.join(rel)
    }
}

/// The cgroup2 mount to use: /sys/fs/cgroup if it is one (pure v2), else the first one.
pub(crate) fn v2_mount(mounts: &[Mount]) -> Option<PathBuf> {
    let v2: Vec<&Mount> = mounts.iter().filter(|m| m.v2).collect();
    v2.iter()
        .find(|m| m.point == Path::new("/sys/fs/cgroup"))
        .or_else(|| v2.first())
        .map(|m| m.point.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const OWN: &str = "9:name=systemd:/\n4:memory:/process_api/f77\n3:cpuset:/\n1:cpu:/\n0::/\n";

    #[test]
    fn hybrid_mounts() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].controllers, vec!["cpu"]);
        assert!(
            m[3].controllers.is_empty(),
            "name=systemd is not a controller"
        );
        assert_eq!(v2_mount(&m), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let own = parse_proc_cgroup(OWN);
        assert_eq!(
            v1_place(&m, &own, "memory"),
            Some((
                "/sys/fs/cgroup/memory".into(),
                "/sys/fs/cgroup/memory/process_api/f77".into()
            ))
        );
        assert_eq!(
            v1_place(&m, &own, "cpuset").map(|p| p.1),
            Some("/sys/fs/cgroup/cpuset".into())
        );
        assert_eq!(v1_place(&m, &own, "cpuacct"), None);
    }

    #[test]
    fn pure_v2_and_combined_v1() {
        let m = parse_mountinfo(
            "25 18 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n\
             26 18 0:23 / /mnt/a\\040b rw - cgroup cgroup rw,cpu,cpuacct\n",
        );
        assert_eq!(v2_mount(&m), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(m[1].point, PathBuf::from("/mnt/a b"));
        assert_eq!(m[1].controllers, vec!["cpu", "cpuacct"]);
    }

    #[test]
    fn cgroup_paths_relative_to_mount_root() {
        let p = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(join_cgroup(p, "/docker/x", "/docker/x/sub"), p.join("sub"));
        assert_eq!(join_cgroup(p, "/docker/x", "/docker/x"), p);
        assert_eq!(join_cgroup(p, "/", "/a/b"), p.join("a/b"));
        assert_eq!(join_cgroup(p, "/", "/../.."), p);
    }
}

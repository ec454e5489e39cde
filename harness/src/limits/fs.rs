//! File helpers shared by the cgroup back ends. Real cgroup file systems create and remove
//! a directory's control files themselves; fake trees in tests do it through `Hooks`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::error::LimitsError;

/// What the kernel would do on mkdir / rmdir. `None` on real cgroup file systems.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hooks {
    pub after_mkdir: Option<fn(&Path)>,
    pub before_rmdir: Option<fn(&Path)>,
}

/// Write a control file. No O_CREAT: a missing file means a missing controller, not a new file.
pub(crate) fn write(path: &Path, value: &str) -> Result<(), LimitsError> {
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| LimitsError::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            source,
        })
}

pub(crate) fn read(path: &Path) -> Result<String, LimitsError> {
    fs::read_to_string(path).map_err(|source| LimitsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn read_opt(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Creates `path`; `Ok(false)` when it already existed.
pub(crate) fn mkdir(path: &Path, hooks: Hooks) -> Result<bool, LimitsError> {
    match fs::create_dir(path) {
        Ok(()) => {
            if let Some(f) = hooks.after_mkdir {
                f(path);
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(LimitsError::Mkdir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Removes one cgroup directory; an absent one counts as removed.
/// Creates `dir` if needed, then runs `setup`; a directory created here is removed again
/// when `setup` fails. Returns whether it was created now.
pub(crate) fn mkdir_with(
    dir: &Path,
    hooks: Hooks,
    setup: impl FnOnce() -> Result<(), LimitsError>,
) -> Result<bool, LimitsError> {
    let new = mkdir(dir, hooks)?;
    if let Err(e) = setup() {
        if new {
            let _ = rmdir(dir, hooks);
        }
        return Err(e);
    }
    Ok(new)
}

pub(crate) fn rmdir(path: &Path, hooks: Hooks) -> io::Result<()> {
    if let Some(f) = hooks.before_rmdir {
        f(path);
    }
    match fs::remove_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Killed processes leave their cgroup a little after SIGKILL, so rmdir may see EBUSY for a
/// moment; retry until `timeout`.
pub(crate) fn rmdir_retry(path: &Path, hooks: Hooks, timeout: Duration) -> io::Result<()> {
    let start = Instant::now();
    loop {
        match rmdir(path, hooks) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < timeout => {
                thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The pids listed in a `cgroup.procs` file (empty if it cannot be read).
pub(crate) fn procs(dir: &Path) -> Vec<i32> {
    read_opt(&dir.join("cgroup.procs"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The value of `key` in a flat-keyed file such as `memory.events` or `memory.oom_control`.
pub(crate) fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut it = line.split_whitespace();
        (it.next() == Some(key))
            .then(|| it.next().and_then(|v| v.parse().ok()))
            .flatten()
    })
}

/// Creates `path` anew. A directory already there (left by an earlier point with the same
/// label) is removed first, which fails while processes are still in it.
pub(crate) fn mkdir_fresh(path: &Path, hooks: Hooks) -> Result<(), LimitsError> {
    if mkdir(path, hooks)? {
        return Ok(());
    }
    rmdir(path, hooks).map_err(|source| LimitsError::Remove {
        path: path.to_path_buf(),
        source,
    })?;
    if mkdir(path, hooks)? {
        Ok(())
    } else {
        Err(LimitsError::Mkdir {
            path: path.to_path_buf(),
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        })
    }
}

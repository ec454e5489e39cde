//! Files of the checkout (the venv, the model, the Python driver), found from wherever
//! gilbench runs: upward from the running executable, then upward from the current directory.

use std::path::{Path, PathBuf};

/// The first `dir/relative` that exists, for `dir` upward from the search roots.
pub fn find_upward(relative: &Path) -> Option<PathBuf> {
    let roots = search_roots();
    upward(&roots).into_iter().map(|dir| dir.join(relative)).find(|p| p.exists())
}

/// Where [`find_upward`] looks, for error messages.
pub fn looked() -> String {
    describe_roots(&search_roots())
}

pub(crate) fn search_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        roots.push(dir);
    }
    if let Ok(dir) = std::env::current_dir() {
        roots.push(dir);
    }
    roots
}

pub(crate) fn describe_roots(roots: &[PathBuf]) -> String {
    if roots.is_empty() {
        return "nowhere: neither the executable's directory nor the current directory is known".into();
    }
    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(" and ")
}

/// Every directory upward from each root, each once, in search order.
pub(crate) fn upward(roots: &[PathBuf]) -> Vec<&Path> {
    let mut dirs: Vec<&Path> = Vec::new();
    for root in roots {
        for dir in root.ancestors() {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}


/// The running executable, to start copies of it (point processes, pool workers):
/// `/proc/self/exe`, which still executes this very binary when a rebuild has replaced or
/// deleted the file a long sweep started from; `current_exe()` where /proc is missing.
pub fn own_exe() -> std::io::Result<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        Ok(proc_exe)
    } else {
        std::env::current_exe()
    }
}

//! Errors of the limits stage. Each message says what to do about it.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// `reason` ends with what to do.
    #[error("cgroup v2 is not usable here: {reason}")]
    V2Unusable { reason: String },

    /// `reason` ends with what to do.
    #[error("cgroup v1 is not usable here: {reason}")]
    V1Unusable { reason: String },

    #[error("cannot create cgroup directory {path}: {source}; run as root or use --enforcement affinity")]
    Mkdir { path: PathBuf, source: io::Error },

    #[error(
        "cannot write {value:?} to {path}: {source}; run as root or use --enforcement affinity"
    )]
    Write {
        path: PathBuf,
        value: String,
        source: io::Error,
    },

    #[error("cannot read {path}: {source}; is the cgroup file system mounted (see /proc/self/mountinfo)?")]
    Read { path: PathBuf, source: io::Error },

    #[error("cannot remove cgroup directory {path}: {source}; some process of the point is still alive (kill_all first), remove it by hand with rmdir")]
    Remove { path: PathBuf, source: io::Error },

    #[error("device {device:?} asks for a CPU quota but {enforcement} has no cpu controller here; drop cpu_quota from the device or use another --enforcement")]
    NoCpuController { device: String, enforcement: String },

    #[error("device {device:?} has cpus = 0; give it at least one CPU")]
    NoCpus { device: String },

    #[error("device {device:?} has cpu_quota = {quota}; it must be a positive number of cores such as 0.5")]
    BadQuota { device: String, quota: f64 },

    #[error("device {device:?} has memory_mb = 0; give it a positive memory cap or none")]
    BadMemory { device: String },

    #[error("unknown enforcement {0:?}: expected cgroup-v2, cgroup-v1 or affinity")]
    UnknownEnforcement(String),
}

impl LimitsError {
    /// The failing path and OS error without the advice, for embedding in another message.
    pub(crate) fn detail(&self) -> String {
        match self {
            LimitsError::Mkdir { path, source }
            | LimitsError::Write { path, source, .. }
            | LimitsError::Read { path, source }
            | LimitsError::Remove { path, source } => format!("{}: {source}", path.display()),
            other => other.to_string(),
        }
    }

    /// EBUSY from the kernel: for cgroups, processes are in the way.
    pub(crate) fn is_busy(&self) -> bool {
        match self {
            LimitsError::Mkdir { source, .. }
            | LimitsError::Write { source, .. }
            | LimitsError::Remove { source, .. } => source.raw_os_error() == Some(libc::EBUSY),
            _ => false,
        }
    }
}

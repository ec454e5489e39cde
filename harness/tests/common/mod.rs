//! Helpers for tests that run the real `gilbench` binary under real limits.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gilbench::results::{read_rows, Row};

pub const BIN: &str = env!("CARGO_BIN_EXE_gilbench");

/// A one-core device and a short CPU + I/O workload, for sweeps that test the runner (a
/// scenario file is this plus its `[sweep]` table).
pub const ONE_CORE_W: &str = r#"
[devices.one]
cpus = 1
[workloads.w]
phases = [ { cpu = { kernel = "arith", work_us = 50 } }, { io = { fixed_ms = 2 } } ]
tasks = { duration_s = 0.3 }
"#;

/// A scenario file in a fresh temp dir; returns (dir, path).
pub fn scenario(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).expect("write scenario");
    (dir, path)
}

pub fn gilbench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run gilbench")
}

/// `gilbench run FILE --out DIR`, asserting it exits 0.
pub fn run(file: &Path, out: &Path) -> Vec<Row> {
    let o = gilbench(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "gilbench run failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    rows(out)
}

pub fn rows(out: &Path) -> Vec<Row> {
    read_rows(&out.join("points.csv")).expect("points.csv readable")
}

/// Tests that run sweeps take this lock: one sweep at a time, so that the leftover check
/// sees only its own runner and the CPU measurements are not shared with another sweep.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// These tests need real cgroups: say how to get them instead of skipping.
pub fn require_cgroups() {
    let limiter = gilbench::limits::Limiter::detect();
    assert_ne!(
        limiter.enforcement(),
        gilbench::limits::Enforcement::Affinity,
        "no writable cgroup v1/v2 hierarchy: run the tests as root on a machine with cgroups \
         (e.g. `sudo cargo test --release`)"
    );
}

pub fn assert_no_leftover_cgroups() {
    let left = gilbench::limits::leftover_dirs();
    assert!(left.is_empty(), "cgroup directories left behind: {left:?}");
}

//! An interrupted sweep resumed with --resume ends with each point exactly once.
mod common;
use common::*;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SWEEP: &str = r#"
[sweep]
devices = ["one"]
runtimes = ["gil", "free-threaded"]
workloads = ["w"]
threads = { pow2 = [1, 8] }
"#;

fn data_rows(out: &std::path::Path) -> usize {
    std::fs::read_to_string(out.join("points.csv"))
        .map(|s| s.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

#[test]
fn interrupted_then_resumed_run_has_every_point_once() {
    let _one_at_a_time = serial();
    require_cgroups();
    let (dir, file) = scenario(&format!("{ONE_CORE_W}{SWEEP}"));
    let out = dir.path().join("out");
    let mut child = Command::new(BIN)
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while data_rows(&out) < 2 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGINT, as Ctrl-C would send.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "an interrupted run exits 130");
    let before = data_rows(&out);
    assert!((2..8).contains(&before), "interrupted with {before} of 8 rows");
    assert_no_leftover_cgroups();

    // A half-written last line, as a killed writer could leave, is cut off on resume.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(out.join("points.csv")).unwrap();
    f.write_all(b"quick,one,gil,w,fix").unwrap();
    drop(f);

    let o = gilbench(&["run", file.to_str().unwrap(), "--resume", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The kernel was calibrated once, for the run; the resumed points do the same work.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let arith = manifest["calibration"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["kernel"] == "arith"))
        .expect("arith's calibration in manifest.json")["units_per_us"]
        .as_f64()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("arith {arith:.4} units/us")), "resumed with another calibration: {err}");
    let rows = rows(&out);
    assert_eq!(rows.len(), 8, "2 runtimes x 4 thread counts");
    let keys: HashSet<_> = rows.iter().map(|r| r.key()).collect();
    assert_eq!(keys.len(), 8, "a point appears twice");

    // Resuming a complete run runs nothing.
    let o = gilbench(&["run", file.to_str().unwrap(), "--resume", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(data_rows(&out), 8);
    assert_no_leftover_cgroups();
}

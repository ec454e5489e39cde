//! Real CPython: a point with `cpython = "<version or path>"` runs in the Python driver
//! (`workloads/python/driver.py`) under that interpreter, from its own virtual environment
//! (`.venv-cpython/<label>/`, made by `scripts/setup-cpython`). The point process, already
//! inside the point's limits, starts the driver, sends it the point as JSON and turns the
//! driver's JSON answer into the same Measurement the emulated runtimes produce.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use workloads::locate::{find_upward, looked};

use crate::measure::{count_end_ms, latency_histogram, quantile_after_ms, quantile_ms, settling, tps_se, Measurement, TimelineRow};
use crate::scenario::{Point, RuntimeSpec};

pub const VENV_DIR: &str = ".venv-cpython";
pub const DRIVER: &str = "workloads/python/driver.py";
pub const SETUP: &str = "scripts/setup-cpython";

/// The venv folder name for an interpreter: "3.12" -> "3.12", "/opt/py/bin/python3" ->
/// "opt_py_bin_python3" (the same rule as scripts/setup-cpython).
pub fn venv_label(interpreter: &str) -> String {
    interpreter.replace('/', "_").trim_start_matches('_').to_string()
}

/// The venv's python for `interpreter`, or an error naming the set-up command.
pub fn python_for(interpreter: &str) -> anyhow::Result<PathBuf> {
    let rel = Path::new(VENV_DIR).join(venv_label(interpreter)).join("bin").join("python");
    find_upward(&rel).ok_or_else(|| {
        anyhow!(
            "CPython runtime {interpreter:?}: no virtual environment {} (looked upward from {}); \
             run: {SETUP} {interpreter}",
            rel.display(),
            looked()
        )
    })
}

pub fn driver_path() -> anyhow::Result<PathBuf> {
    find_upward(Path::new(DRIVER)).ok_or_else(|| {
        anyhow!("the Python driver {DRIVER} is missing (looked upward from {}): is the checkout complete?", looked())
    })
}

/// Checks before a sweep that every real interpreter it names is set up.
pub fn preflight<'a>(points: impl IntoIterator<Item = &'a Point>) -> anyhow::Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for p in points {
        if let RuntimeSpec::Cpython { interpreter } = &p.runtime {
            if !seen.contains(&interpreter.as_str()) {
                seen.push(interpreter);
                python_for(interpreter)?;
                driver_path()?;
            }
        }
    }
    Ok(())
}

/// What the driver reports about itself.
#[derive(Debug, Deserialize)]
struct InterpreterInfo {
    version: String,
    #[serde(default)]
    free_threaded: bool,
    #[serde(default = "yes")]
    gil_enabled: bool,
}

fn yes() -> bool {
    true
}

/// The driver's answer when `ok` is true (see workloads/python/gilbench_driver/protocol.py).
#[derive(Debug, Deserialize)]
struct Answer {
    interpreter: InterpreterInfo,
    tasks: u64,
    tasks_unfinished: u64,
    elapsed_s: f64,
    spawn_ms: f64,
    service_us: Vec<u64>,
    /// When each task of service_us ended, in ms since the window's start.
    #[serde(default)]
    end_ms: Vec<u32>,
    response_us: Vec<u64>,
    beta_mean: Option<f64>,
    lock_wait_frac: Option<f64>,
    runq_wait_frac: Option<f64>,
    cpu_s: f64,
    ctx_voluntary: u64,
    ctx_involuntary: u64,
    peak_rss_mb: Option<f64>,
    pss_mb: Option<f64>,
    #[serde(default)]
    timeline: Vec<TimelineRow>,
}

/// Runs the point in the driver and reads its measurement.
pub fn measure(point: &Point, interpreter: &str) -> anyhow::Result<Measurement> {
    let python = python_for(interpreter)?;
    let driver = driver_path()?;
    let spec = serde_json::to_string(point)?;
    let mut cmd = Command::new(&python);
    cmd.arg(&driver)
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl with integer arguments only, async-signal-safe. The driver dies with the
    // point process even where no cgroup can kill the tree (affinity-only limits).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {} {}", python.display(), driver.display()))?;
    let mut stdin = child.stdin.take().context("driver stdin")?;
    let mut stdout = child.stdout.take().context("driver stdout")?;
    let mut stderr = child.stderr.take().context("driver stderr")?;
    // Read stderr on the side so that a chatty driver cannot block on a full pipe.
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // A driver that dies before reading its spec closes the pipe: its exit says more.
    let _ = stdin.write_all(spec.as_bytes());
    drop(stdin);
    let mut out = String::new();
    let _ = stdout.read_to_string(&mut out);
    let status = child.wait().context("waiting for the Python driver")?;
    let err = err_reader.join().unwrap_or_default();
    parse_answer(&out, &err, status, interpreter)
}

fn parse_answer(
    out: &str,
    err: &str,
    status: std::process::ExitStatus,
    interpreter: &str,
) -> anyhow::Result<Measurement> {
    let tail = || last_lines(err, 5);
    let value: serde_json::Value = match serde_json::from_str(out.trim()) {
        Ok(v) => v,
        Err(_) => bail!(
            "the Python driver (cpython {interpreter:?}) {} without an answer; its stderr: {}",
            ended(status),
            tail()
        ),
    };
    if value.get("ok") != Some(&serde_json::Value::Bool(true)) {
        let msg = value.get("error").and_then(|e| e.as_str()).unwrap_or("no error message");
        bail!("the Python driver (cpython {interpreter:?}) failed: {msg}");
    }
    let a: Answer = serde_json::from_value(value)
        .with_context(|| format!("the Python driver (cpython {interpreter:?}) sent an answer this harness cannot read"))?;
    Ok(measurement(a))
}

fn measurement(a: Answer) -> Measurement {
    let service = latency_histogram(&a.service_us);
    let settling = settling(&a.timeline);
    let ended = a.end_ms.iter().copied().zip(a.service_us.iter().copied());
    let lat_p99_steady_ms = settling.and_then(|st| quantile_after_ms(ended, st.steady_from_s, 0.99));
    let mut per_bucket = Vec::new();
    for &ms in &a.end_ms {
        count_end_ms(&mut per_bucket, u64::from(ms));
    }
    let response = latency_histogram(&a.response_us);
    let secs = a.elapsed_s.max(1e-9);
    let info = &a.interpreter;
    let build = match (info.free_threaded, info.gil_enabled) {
        (false, _) => "",
        (true, false) => " free-threaded",
        (true, true) => " free-threaded build, GIL enabled",
    };
    Measurement {
        tasks: a.tasks,
        tasks_unfinished: a.tasks_unfinished,
        elapsed_s: a.elapsed_s,
        tps: a.tasks as f64 / secs,
        lat_p50_ms: quantile_ms(&service, 0.50),
        lat_p95_ms: quantile_ms(&service, 0.95),
        lat_p99_ms: quantile_ms(&service, 0.99),
        lat_max_ms: quantile_ms(&service, 1.0),
        resp_p99_ms: quantile_ms(&response, 0.99),
        beta_mean: a.beta_mean,
        lock_wait_frac: a.lock_wait_frac,
        runq_wait_frac: a.runq_wait_frac,
        cpu_cores_used: a.cpu_s / secs,
        peak_rss_mb: a.peak_rss_mb,
        pss_mb: a.pss_mb,
        ctx_voluntary: a.ctx_voluntary,
        ctx_involuntary: a.ctx_involuntary,
        spawn_ms: a.spawn_ms,
        calibration: Vec::new(),
        settling,
        lat_p99_steady_ms,
        // The driver sends end times only from windows it measured.
        tps_se: (!a.end_ms.is_empty()).then(|| tps_se(&per_bucket, settling, a.elapsed_s)).flatten(),
        timeline: a.timeline,
        interpreter: Some(format!("CPython {}{build}", info.version)),
        // The interpreter's own work is not calibrated against our kernels.
        cpu_speed: None,
    }
}

fn ended(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(9)) => "was killed by SIGKILL (the OOM killer, the time limit or another process)".into(),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended".into(),
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "(empty)".into();
    }
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn labels_match_the_setup_script() {
        assert_eq!(venv_label("3.12"), "3.12");
        assert_eq!(venv_label("/opt/py/bin/python3.13t"), "opt_py_bin_python3.13t");
    }

    #[test]
    fn a_dead_driver_and_a_failing_one_are_errors_that_say_so() {
        let killed = ExitStatus::from_raw(9);
        let e = parse_answer("", "Traceback\nMemoryError\n", killed, "3.12").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("was killed by SIGKILL"), "{msg}");
        assert!(msg.contains("MemoryError"), "{msg}");
        let e = parse_answer(
            r#"{"ok": false, "error": "unknown kernel 'fft'"}"#,
            "",
            ExitStatus::from_raw(2 << 8),
            "3.12",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown kernel 'fft'"), "{e}");
    }

    #[test]
    fn an_answer_becomes_a_measurement() {
        let out = r#"{"ok": true,
            "interpreter": {"executable": "/x/python", "version": "3.13.0", "implementation": "cpython",
                            "free_threaded": false, "gil_enabled": true},
            "tasks": 4, "tasks_unfinished": 1, "elapsed_s": 2.0, "spawn_ms": 1.5,
            "service_us": [1000, 2000, 3000, 4000], "response_us": [1000, 2000, 3000, 9000],
            "beta_mean": 0.5, "lock_wait_frac": null, "runq_wait_frac": 0.1,
            "cpu_s": 1.0, "ctx_voluntary": 10, "ctx_involuntary": 2,
            "peak_rss_mb": 20.5, "pss_mb": null, "calibration": [], "timeline": []}"#;
        let m = parse_answer(out, "", ExitStatus::from_raw(0), "3.13").unwrap();
        assert_eq!(m.tasks, 4);
        assert_eq!(m.tps, 2.0);
        assert_eq!(m.cpu_cores_used, 0.5);
        assert!((m.lat_max_ms.unwrap() - 4.0).abs() < 0.01);
        assert!((m.resp_p99_ms.unwrap() - 9.0).abs() < 0.01);
        assert_eq!(m.interpreter.as_deref(), Some("CPython 3.13.0"));
        assert!(m.settling.is_none());
    }
}

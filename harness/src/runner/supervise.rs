//! Runs one point in a fresh child process inside fresh limits, and turns however it ends
//! (a record, a crash, an OOM kill, a time-out) into an `Ending`. Never panics the sweep.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::limits::{Limiter, PointLimits};
use crate::measure::Measurement;
use crate::results::{Ending, Status};
use crate::scenario::Point;

/// The hidden subcommand the child runs.
pub const POINT_SUBCOMMAND: &str = "__point";

/// Ctrl-C arrived while the point ran; it was killed and cleaned up, no row is owed.
#[derive(Debug)]
pub struct Interrupted;

pub fn run_point(
    limiter: &Limiter,
    point: &Point,
    label: &str,
    interrupted: &AtomicBool,
) -> Result<Ending, Interrupted> {
    let t0 = Instant::now();
    let failed = |message: String, cpus: u32| Ending {
        cpus,
        point_wall_s: t0.elapsed().as_secs_f64(),
        ..Ending::not_run(limiter.enforcement(), message)
    };
    let limits = match limiter.create(label, &point.device) {
        Ok(l) => l,
        Err(e) => return Ok(failed(format!("applying device limits: {e}"), 0)),
    };
    let cpus = limits.cpus().len() as u32;
    let (status, stdout, stderr) = match supervise(&limits, point, interrupted) {
        Ok(x) => x,
        Err(Supervision::Interrupted) => {
            limits.kill_all();
            let _ = limits.remove();
            return Err(Interrupted);
        }
        Err(Supervision::Spawn(e)) => {
            let _ = limits.remove();
            return Ok(failed(format!("starting the point process: {e}"), cpus));
        }
    };
    let oom = limits.oom_killed();
    let peak = limits.memory_peak_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    let memory_enforced = limits.memory_enforced();
    let enforcement = limits.enforcement();
    let mut message = String::new();
    if let Err(e) = limits.remove() {
        message = format!("cleanup: {e}; ");
    }
    let (status, measurement) = match status {
        _ if oom => {
            message += "killed by the OOM killer (memory cap reached)";
            (Status::Oom, None)
        }
        Exit::TimedOut => {
            message += &format!("killed after the time limit of {:?}", point.time_limit);
            (Status::Timeout, None)
        }
        Exit::Exited(st) => match serde_json::from_str::<Measurement>(stdout.trim()) {
            Ok(m) if st.is_some_and(|s| s.success()) => (Status::Ok, Some(m)),
            _ => {
                let how = st.map_or("lost track of the process".into(), |s| s.to_string());
                message += &format!("point process failed ({how}): {}", tail(&stderr, 400));
                (Status::Error, None)
            }
        },
    };
    Ok(Ending {
        status,
        measurement,
        enforcement,
        cpus,
        memory_enforced,
        cgroup_mem_peak_mb: peak,
        point_wall_s: t0.elapsed().as_secs_f64(),
        message,
    })
}

enum Exit {
    /// Ended by itself (or by a signal nobody in the runner sent).
    Exited(Option<std::process::ExitStatus>),
    TimedOut,
}

enum Supervision {
    Interrupted,
    Spawn(std::io::Error),
}

fn supervise(
    limits: &PointLimits,
    point: &Point,
    interrupted: &AtomicBool,
) -> Result<(Exit, String, String), Supervision> {
    let exe = workloads::locate::own_exe().map_err(Supervision::Spawn)?;
    let mut cmd = Command::new(exe);
    cmd.arg(POINT_SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limits.configure(&mut cmd);
    let mut child = cmd.spawn().map_err(Supervision::Spawn)?;

    let spec = serde_json::to_vec(point).unwrap_or_default();
    let mut stdin = child.stdin.take();
    let writer = thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&spec);
        }
    });
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());

    let deadline = Instant::now() + point.time_limit;
    let exit = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Exit::Exited(Some(st)),
            Ok(None) => {}
            Err(_) => break Exit::Exited(None),
        }
        if interrupted.load(Ordering::SeqCst) {
            limits.kill_all();
            let _ = child.wait();
            return Err(Supervision::Interrupted);
        }
        if Instant::now() >= deadline {
            limits.kill_all();
            let _ = child.kill();
            let _ = child.wait();
            break Exit::TimedOut;
        }
        thread::sleep(Duration::from_millis(5));
    };
    // Grandchildren (later: process-pool workers) must not outlive the point.
    limits.kill_all();
    let _ = writer.join();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok((exit, stdout, stderr))
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

fn tail(s: &str, max: usize) -> String {
    let s = s.trim();
    let start = s.len().saturating_sub(max);
    let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    if s.is_empty() {
        "no output on stderr".into()
    } else {
        s[start..].to_string()
    }
}

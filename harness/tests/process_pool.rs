//! The process strategy with real worker processes (the `gilbench` binary as `__worker`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gilbench::runtime::{Interpreter, Program};
use gilbench::scenario::Point;
use gilbench::strategy::process::{self, CRASH_AT_ENV, DEFAULT_INTERPRETER_RSS_MB, WORKER_EXE_ENV};
use gilbench::strategy::{Outcome, Setup};

/// One test at a time: they set environment variables the workers inherit, and check
/// that this process has no children left.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var(WORKER_EXE_ENV, env!("CARGO_BIN_EXE_gilbench"));
    std::env::remove_var(CRASH_AT_ENV);
    g
}

fn point(threads: u32, phases: &str, tasks: &str) -> Point {
    let json = format!(
        r#"{{"scenario":"t","device":{{"name":"d","cpus":1,"memory_mb":null,"cpu_quota":null}},
        "runtime_name":"gil","runtime":{{"kind":"gil","switch_interval_us":5000}},
        "workload":{{"name":"w","description":null,"phases":{phases},"tasks":null,"arrival":null}},
        "strategy":"fixed","threads":{threads},"rep":0,"tasks":{tasks},"arrival":"batch",
        "onnx":{{"model":null,"intra_op_threads":1}},"seed":1,"time_limit":{{"secs":60,"nanos":0}}}}"#
    );
    serde_json::from_str(&json).expect("valid point JSON")
}

const SMALL: &str = r#"[{"cpu":{"kernel":"arith","work_us":25}},{"io":{"fixed_ms":0.1}}]"#;

fn run(p: Point) -> anyhow::Result<Outcome> {
    // The parent's own program is not used by the process strategy; compile a trivial one.
    let (program, _) = Program::compile(&[], &p.onnx)?;
    let interp = Interpreter::new(&p.runtime).unwrap();
    process::run(Arc::new(Setup { point: p, program, interp }))
}

/// Children of this process, zombies included (from /proc/*/stat's ppid field).
fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if f.get(1).and_then(|s| s.parse::<u32>().ok()) == Some(me) {
            v.push((pid, f[0].chars().next().unwrap_or('?')));
        }
    }
    v
}

#[test]
fn workers_process_a_count_budget_exactly() {
    let _g = serial();
    let out = run(point(3, SMALL, r#"{"count":300}"#)).unwrap();
    assert_eq!(out.stats.tasks, 300);
    assert_eq!(out.unfinished, 0);
    assert!(out.usage.cpu > Duration::ZERO, "worker CPU counted");
    let beta = out.stats.beta_mean().unwrap();
    assert!(beta > 0.2 && beta < 1.0, "beta {beta}");
    // One worker per GIL: no lock contention inside a worker.
    assert!(out.stats.lock_wait_frac().unwrap() < 0.05);
    assert!(out.tree_memory_mb.is_some());
    assert_eq!(children(), vec![], "workers left behind");
}

#[test]
fn worker_cpu_is_counted() {
    let _g = serial();
    // 40 tasks of 5 ms of arithmetic: 200 ms of CPU, all of it in the workers.
    let phases = r#"[{"cpu":{"kernel":"arith","work_us":5000}}]"#;
    let out = run(point(2, phases, r#"{"count":40}"#)).unwrap();
    let cpu = out.usage.cpu.as_secs_f64();
    assert!(cpu > 0.15 && cpu < 0.4, "{cpu} s of CPU counted");
    let cpu_beta = out.stats.beta_mean().unwrap();
    // Beta is judged against tasks that only sleep, not against a fixed bound: on a shared
    // host, steal stretches a CPU-bound task's wall time (CI once read 0.44), never its CPU.
    let sleep = r#"[{"io":{"fixed_ms":5}}]"#;
    let io_beta = run(point(2, sleep, r#"{"count":40}"#)).unwrap().stats.beta_mean().unwrap();
    assert!(io_beta > 0.9, "sleeping tasks, beta {io_beta}");
    assert!(cpu_beta < io_beta - 0.3, "CPU-bound tasks, beta {cpu_beta} (sleeping {io_beta})");
}

#[test]
fn a_time_budget_closes_the_window() {
    let _g = serial();
    let phases = r#"[{"io":{"fixed_ms":20}}]"#;
    let out = run(point(2, phases, r#"{"duration":{"secs":0,"nanos":300000000}}"#)).unwrap();
    let s = out.elapsed.as_secs_f64();
    // Closed at the budget; the slack above it is for a shared host's stalls, not the budget.
    assert!((0.29..1.5).contains(&s), "window {s} s");
    // 2 workers x 300 ms / 20 ms = 30 tasks at most.
    assert!((5..=32).contains(&out.stats.tasks), "{} tasks", out.stats.tasks);
    assert_eq!(children(), vec![]);
}

#[test]
fn tree_memory_grows_by_one_interpreter_per_worker() {
    let _g = serial();
    let mem = |n| run(point(n, SMALL, r#"{"count":40}"#)).unwrap().tree_memory_mb.unwrap();
    let (rss1, pss1) = mem(1);
    let (rss4, pss4) = mem(4);
    let per_rss = (rss4 - rss1) / 3.0;
    let per_pss = (pss4 - pss1) / 3.0;
    eprintln!(
        "tree 1 worker: rss {rss1:.1} pss {pss1:.1}; 4 workers: rss {rss4:.1} pss {pss4:.1}; \
         per worker rss {per_rss:.1} pss {per_pss:.1} MB"
    );
    let base = DEFAULT_INTERPRETER_RSS_MB;
    assert!(per_rss > base && per_rss < base + 15.0, "{per_rss} MB per worker");
    assert!(per_pss > base && per_pss <= per_rss, "{per_pss} MB per worker (pss)");
    assert!(rss4 > 4.0 * base, "{rss4} MB for 4 workers");
}

#[test]
fn a_worker_crash_fails_the_point_promptly() {
    let _g = serial();
    std::env::set_var(CRASH_AT_ENV, "17");
    let t0 = Instant::now();
    let r = run(point(4, r#"[{"io":{"fixed_ms":2}}]"#, r#"{"count":2000}"#));
    std::env::remove_var(CRASH_AT_ENV);
    let err = format!("{:#}", r.expect_err("a dead worker is an error"));
    eprintln!("crash reported after {:?}: {err}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(err.contains("died") && err.contains("while running task 17"), "{err}");
    assert!(err.contains("SIGKILL"), "{err}");
    assert_eq!(children(), vec![], "workers left behind");
}

#[test]
fn a_worker_that_cannot_start_is_reported() {
    let _g = serial();
    let phases = r#"[{"native":{"kernel":"mobilenetv2","work_us":1000}}]"#;
    let mut p = point(2, phases, r#"{"count":10}"#);
    p.onnx.model = Some("/nonexistent/model.onnx".into());
    let err = format!("{:#}", run(p).expect_err("no model"));
    assert!(err.contains("worker 0 (pid") && err.contains("failed to start: exit status: 2"), "{err}");
    assert_eq!(children(), vec![]);
}

#[test]
fn each_worker_loads_its_own_onnx_session() {
    let _g = serial();
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/mobilenetv2.onnx");
    assert!(model.is_file(), "{} missing: run scripts/setup to build it", model.display());
    let onnx = r#"[{"native":{"kernel":"mobilenetv2","work_us":2000}}]"#;
    let mem = |n, phases| {
        let mut p = point(n, phases, r#"{"count":8}"#);
        p.onnx.model = Some(model.clone());
        let out = run(p).unwrap();
        assert_eq!(out.stats.tasks, 8);
        out.tree_memory_mb.unwrap()
    };
    let (plain, plain_pss) = mem(2, SMALL);
    let (with_model, with_model_pss) = mem(2, onnx);
    let per_session = (with_model - plain) / 2.0;
    let per_session_pss = (with_model_pss - plain_pss) / 2.0;
    eprintln!(
        "2 workers: rss {plain:.1} MB plain, {with_model:.1} MB with MobileNetV2: {per_session:.1} MB \
         per session (pss {per_session_pss:.1} MB)"
    );
    // The weights alone are 14 MB per worker.
    assert!(per_session > 10.0, "{per_session} MB per ONNX session");
    assert_eq!(children(), vec![]);
}

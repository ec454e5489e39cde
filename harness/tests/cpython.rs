//! The real-CPython runtime: the Python driver's protocol, a driver that dies mid-point, a
//! missing interpreter, and the Python ports of the controllers against the Rust ones.
//! Uses the real CPython 3.11 venv that `scripts/setup-cpython 3.11` makes (scripts/test runs
//! it); without it these tests fail and say so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gilbench::controller::{ControllerSpec, Decision, Sample, Step};

const INTERPRETER: &str = "3.11";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let p = repo().join(".venv-cpython").join(INTERPRETER).join("bin/python");
    assert!(p.exists(), "{} is missing: run scripts/setup-cpython {INTERPRETER}", p.display());
    p
}

fn driver(args: &[&str], stdin: &str) -> (Option<i32>, String, Duration) {
    let t0 = Instant::now();
    let mut child = Command::new(python())
        .arg(repo().join("workloads/python/driver.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the driver");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), t0.elapsed())
}

#[test]
fn a_malformed_spec_is_an_error_not_a_hang() {
    for spec in ["{\"threads\": 4", "[]", "{}", "not json at all"] {
        let (code, out, took) = driver(&["run"], spec);
        assert_eq!(code, Some(2), "{spec:?}: {out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{spec:?}: {e}: {out}"));
        assert_eq!(v["ok"], false, "{out}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{out}");
        assert!(took < Duration::from_secs(10), "{spec:?} took {took:?}");
    }
}

fn gilbench(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gilbench"));
    cmd.args(args).current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gilbench")
}

fn scenario(dir: &Path, interpreter: &str) -> PathBuf {
    let path = dir.join("cpy.toml");
    let text = format!(
        r#"name = "cpy"
tasks = {{ count = 400 }}
[devices.one]
cpus = 1
[runtimes.py]
cpython = "{interpreter}"
[workloads.micro]
phases = [{{ cpu = {{ kernel = "arith", work_us = 25 }} }}, {{ io = {{ fixed_ms = 0.1 }} }}]
[sweep]
devices = ["one"]
runtimes = ["py"]
workloads = ["micro"]
threads = [4]
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_point_runs_and_a_driver_that_dies_becomes_an_error_row() {
    python();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), INTERPRETER);
    let ok = tmp.path().join("ok");
    let o = gilbench(&["run", sc.to_str().unwrap(), "--out", ok.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = gilbench::results::read_rows(&ok.join("points.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, gilbench::results::Status::Ok, "{}", rows[0].message);
    assert_eq!(rows[0].tasks, Some(400));
    assert!(rows[0].interpreter.as_deref().is_some_and(|i| i.starts_with("CPython 3.11")), "{:?}", rows[0].interpreter);

    let dead = tmp.path().join("dead");
    let o = gilbench(
        &["run", sc.to_str().unwrap(), "--out", dead.to_str().unwrap()],
        &[("GILBENCH_DRIVER_CRASH_AT", "50")],
    );
    assert!(o.status.success(), "a failed point is a row, not a failed sweep");
    let rows = gilbench::results::read_rows(&dead.join("points.csv")).unwrap();
    assert_eq!(rows[0].status, gilbench::results::Status::Error);
    assert!(rows[0].message.contains("killed by SIGKILL"), "{}", rows[0].message);
}

#[test]
fn a_missing_interpreter_names_the_setup_command() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), "9.99");
    let out = tmp.path().join("r");
    let o = gilbench(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("scripts/setup-cpython 9.99"), "{err}");
}

/// The throughput curves of the scripted runs.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    /// Saturates near 90 TPS at N ~ 6, loses a little per thread beyond.
    Flat,
    /// Keeps rising slowly to N ~ 40 (ties with small gains), under a memory limit reached
    /// at N ~ 38.
    Rising,
    /// Proportional to N up to 22 with the cores idle, flat above with the lock saturating:
    /// a step past the knee ties with a small gain and is halved.
    Knee,
    /// One core filled slowly as N grows (vision on one core): throughput in proportion to
    /// the CPU in use, within +-15 % noise, the lock free and the run queue long; ties that
    /// CPU use decides.
    FillCore,
    /// Proportional to N up to 40 with the lock free, and every 10 s a slow spell of 1.25 s
    /// in which everything reads 40 % low: steps up that fall in a spell are measured again.
    Spell,
    /// Spell with spells of 5 s in which the slow tasks fill the core (CPU 0.9 -> 1.0): a
    /// step up that falls there while raising CPU use is judged on CPU use.
    CostlySpell,
    /// The lock waited on from 7 threads (0.2, 0.5 at 16) while one core fills up to ~16
    /// threads, throughput in proportion to it within +-15 % noise (agent-orchestration on
    /// one core, gil): ties that CPU use under a core decides.
    LockUnderCore,
    /// The lock free and the core full from 4 threads on, throughput flat above within
    /// +-15 % noise (micro on one core): point gains of a tie are noise there.
    FullCore,
    /// FullCore on a machine that slows down by half over the run: the settled N reads below
    /// the steps up refused earlier, which the pool probes again.
    Slowing,
    /// FullCore with little noise on a machine 12 % faster every other 6 s: a step up in a
    /// spell's first seconds gains beyond the noise, and the base is measured again.
    Drift,
    /// The lock held from 2 threads (waited on 0.45 there, more above) with the core busy,
    /// throughput flat above within +-15 % noise on a machine 12 % faster every other 6 s
    /// (speech-features, gil): gains from the held lock are measured against the base again
    /// and not halved, so the pool holds no more threads than hold the lock.
    LockHeld,
}

/// The share of one core that `n` threads keep busy in `Shape::FillCore`.
fn fill(n: f64) -> f64 {
    1.0 - 0.6 * (-n / 4.0).exp()
}

/// The share of one core that `n` threads keep busy in `Shape::LockUnderCore`.
fn fill_slowly(n: f64) -> f64 {
    1.0 - 0.5 * (-n / 4.0).exp()
}

/// The speed of the machine in `Shape::Drift` and `Shape::LockHeld` at interval `i`: 12 %
/// faster every other 6 s.
fn drift(i: usize) -> f64 {
    if (i / 24) % 2 == 1 {
        1.12
    } else {
        1.0
    }
}

/// A scripted run: the samples a pool would report if it followed the Rust controller, with
/// demand that comes and goes, noisy throughput and waits (a fixed LCG, no clock).
fn script(name: &str, intervals: usize, shape: Shape) -> (Vec<Sample>, Vec<Step>) {
    let spec = ControllerSpec::default_for(name).unwrap();
    let mut ctl = spec.build();
    let dt = ctl.interval_s();
    let mut threads = ctl.initial_threads(1);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut samples, mut steps) = (Vec::new(), Vec::new());
    for i in 0..intervals {
        let n = f64::from(threads);
        let (curve, noise) = match shape {
            Shape::Flat => ((n / 0.066).min(90.0) * (1.0 - 0.0005 * n), 0.2),
            Shape::Rising => {
                let c = (n / 0.066).min(90.0) * (1.0 + 0.04 * n.min(40.0).ln()) * (1.0 - 0.005 * (n - 40.0).max(0.0));
                (c, 0.06)
            }
            Shape::Knee => (100.0 * n.min(22.0), 0.2),
            Shape::FillCore => (130.0 * fill(n), 0.3),
            Shape::Spell => (100.0 * n.min(40.0) * if i % 40 < 5 { 0.6 } else { 1.0 }, 0.1),
            Shape::CostlySpell => (100.0 * n.min(40.0) * if i % 40 < 20 { 0.6 } else { 1.0 }, 0.1),
            Shape::LockUnderCore => (100.0 * fill_slowly(n), 0.3),
            Shape::FullCore => (400.0 * (n / 4.0).min(1.0), 0.3),
            Shape::Slowing => (400.0 * (n / 4.0).min(1.0) * (1.0 - 0.5 * i as f64 / intervals as f64), 0.3),
            Shape::Drift => (400.0 * (n / 4.0).min(1.0) * drift(i), 0.04),
            Shape::LockHeld => (if n >= 2.0 { 130.0 } else { 115.0 } * drift(i), 0.3),
        };
        let tps = curve.max(0.2) * (1.0 - noise / 2.0 + noise * rand());
        let idle = (i / 60) % 4 == 3;
        let wait = ((n - 6.0) / (n + 6.0)).clamp(0.0, 0.9) * (0.8 + 0.4 * rand());
        let (lock, runq, beta, cpu_util) = if shape == Shape::Knee {
            (0.05 + 0.02 * (n - 22.0).max(0.0), 0.0, 0.6, (n / 22.0).min(1.0))
        } else if shape == Shape::LockUnderCore {
            let lock = ((n - 3.0) / (n + 13.0)).clamp(0.0, 0.9);
            (lock, 0.08, 0.85, fill_slowly(n) * (0.99 + 0.02 * rand()))
        } else if shape == Shape::Spell {
            (0.0, 0.3, 0.9, 0.9)
        } else if shape == Shape::CostlySpell {
            (0.0, 0.3, 0.9, if i % 40 < 20 { 1.0 } else { 0.9 })
        } else if matches!(shape, Shape::FullCore | Shape::Slowing | Shape::Drift) {
            (0.0, 0.3, 0.6, ((n / 4.0) * (0.99 + 0.02 * rand())).min(1.0))
        } else if shape == Shape::LockHeld {
            let lock = (1.0 - 1.1 / n).max(0.0);
            let cpu = if n >= 2.0 { (0.99 + 0.02 * rand()).min(1.0) } else { 0.88 };
            (lock, 0.02, (lock + 0.05).min(0.99), cpu)
        } else if shape == Shape::FillCore {
            let runq = (1.0 - 1.0 / n).min(0.9);
            (0.0, runq, (0.3 + runq).min(0.99), fill(n) * (0.99 + 0.02 * rand()))
        } else {
            // The first half never quite busy (a step up that ties is kept), then busy.
            let busy = if i < intervals / 2 { 0.93 } else { 1.0 };
            (wait * 0.3, wait * 0.7, (0.83 + 0.15 * wait).min(0.99), (tps * 0.011).min(busy))
        };
        let s = Sample {
            t_s: (i + 1) as f64 * dt,
            interval_s: dt,
            threads,
            queue_len: if idle { 0 } else { (rand() * 80.0) as usize + 1 },
            completed: (tps * dt).round() as u64,
            beta: Some(beta),
            lock_wait_frac: Some(lock),
            runq_wait_frac: Some(runq),
            cpu_util,
            cores: 1,
            memory_frac: (shape == Shape::Rising).then(|| 0.05 + 0.025 * n),
        };
        let st = ctl.decide(&s);
        threads = st.target.max(1);
        samples.push(s);
        steps.push(st);
    }
    (samples, steps)
}

/// Every N the pool held for 40 intervals or more is at most `most`.
fn assert_held_at_most(name: &str, steps: &[Step], most: u32) {
    let targets: Vec<u32> = steps.iter().map(|s| s.target).collect();
    let held: Vec<u32> = targets.chunk_by(|a, b| a == b).filter(|r| r.len() >= 40).map(|r| r[0]).collect();
    assert!(held.iter().all(|&n| n <= most), "{name}: held {held:?}: {targets:?}");
}

#[test]
fn python_controllers_decide_as_the_rust_ones() {
    python();
    // Rising makes `adaptive` stretch tied climbs, Knee halve a step into the lock, FillCore
    // settle ties by CPU use, Spell measure a fallen step again, LockUnderCore settle ties by
    // CPU use with the lock waited on, FullCore refuse point gains with the core full, Slowing
    // probe a refused step again, CostlySpell judge a fall that raised CPU use on CPU use,
    // Drift measure the base again after a gain from full cores, LockHeld after a gain from a
    // held lock (paths the flat script never takes).
    let cases = [
        ("adaptive-paper", Shape::Flat),
        ("queue-scaler", Shape::Flat),
        ("adaptive", Shape::Flat),
        ("adaptive", Shape::Rising),
        ("adaptive", Shape::Knee),
        ("adaptive", Shape::FillCore),
        ("adaptive", Shape::Spell),
        ("adaptive", Shape::LockUnderCore),
        ("adaptive", Shape::FullCore),
        ("adaptive", Shape::Slowing),
        ("adaptive", Shape::CostlySpell),
        ("adaptive", Shape::Drift),
        ("adaptive", Shape::LockHeld),
    ];
    for (name, shape) in cases {
        let (samples, rust) = script(name, 600, shape);
        let input: String = samples.iter().map(|s| serde_json::to_string(s).unwrap() + "\n").collect();
        let (code, out, _) = driver(&["decide", "--controller", name], &input);
        assert_eq!(code, Some(0), "{name}: {out}");
        let py: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(py.len(), rust.len(), "{name}: one decision per sample");
        let moves = rust.windows(2).filter(|w| w[0].target != w[1].target).count();
        if shape == Shape::Rising {
            let most = samples.iter().map(|s| s.memory_frac.unwrap()).fold(0.0, f64::max);
            assert!(most <= 0.9, "{name}: grew to {most:.2} of the memory limit");
        }
        if shape == Shape::Knee {
            // A veto that steps down and stays above the knee: the halving.
            let halved = rust.windows(2).any(|w| {
                w[1].decision == Decision::Veto && w[1].target < w[0].target && w[1].target > 22
            });
            let targets: Vec<u32> = rust.iter().map(|s| s.target).collect();
            assert!(halved, "{name}: the knee script should halve a step: {targets:?}");
        }
        if shape == Shape::FillCore {
            // Ties at a busy core kept the threads that keep it busy (no down-walk).
            let last = rust.last().unwrap().target;
            assert!(last >= 14, "{name}: ended at {last} threads with the core filled at 14");
        }
        if shape == Shape::Drift {
            // A gain from the full core sends the pool back to its base for a second look
            // (a Shrink to the N it came from), and it holds the threads that fill the core.
            let targets: Vec<u32> = rust.iter().map(|s| s.target).collect();
            let moves: Vec<(u32, u32, Decision)> = rust
                .windows(2)
                .filter(|w| w[0].target != w[1].target)
                .map(|w| (w[0].target, w[1].target, w[1].decision))
                .collect();
            let looked_again = moves.windows(2).any(|w| {
                w[0].2 == Decision::Grow && w[1].2 == Decision::Shrink && w[1].1 == w[0].0
            });
            assert!(looked_again, "{name}: no second look at a base: {targets:?}");
            assert_held_at_most(name, &rust, 6);
        }
        if shape == Shape::LockHeld {
            // Where the pool stays it has no more threads than hold the lock.
            assert_held_at_most(name, &rust, 2);
        }
        if shape == Shape::FullCore {
            // Probes up may go anywhere; where the pool stays (40 intervals or more) it has
            // the threads that fill the core, not a noise gain above them.
            assert_held_at_most(name, &rust, 6);
        }
        assert!(moves >= 5, "{name}: the script should make the controller move ({moves} moves)");
        for (i, (r, p)) in rust.iter().zip(&py).enumerate() {
            assert_eq!(p["target"], r.target, "{name}: interval {i}: {p} vs {r:?}");
            assert_eq!(p["decision"], serde_json::to_value(r.decision).unwrap(), "{name}: interval {i}");
            assert_eq!(p["vetoes"], r.vetoes, "{name}: interval {i}");
            if let (Some(a), Some(b)) = (p["beta_ewma"].as_f64(), r.beta_ewma) {
                assert!((a - b).abs() < 1e-9, "{name}: interval {i}: beta_ewma {a} vs {b}");
            }
        }
    }
}

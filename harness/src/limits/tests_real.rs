//! The limits on this machine's real cgroups. They need root and a writable cgroup v1 or v2
//! hierarchy; without one they fail, saying so, rather than skip.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::*;

/// The tests share this process's runner directory and check that it is gone at the end.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn cgroup_limiter() -> Limiter {
    let limiter = Limiter::detect();
    if limiter.enforcement() == Enforcement::Affinity {
        let why: Vec<String> = limiter
            .skipped()
            .iter()
            .map(|(e, err)| format!("{e}: {err}"))
            .collect();
        panic!(
            "no writable cgroup hierarchy; run the tests as root (e.g. `sudo -E cargo test`) on a \
             machine with cgroup v2 or v1 mounted:\n{}",
            why.join("\n")
        );
    }
    limiter
}

fn device(cpus: u32, memory_mb: Option<u64>, cpu_quota: Option<f64>) -> Device {
    Device {
        name: "test".into(),
        cpus,
        memory_mb,
        cpu_quota,
    }
}

/// Removes the point and checks its directories are gone, and the runner directory too
/// unless another point of this process (another test in this binary) still uses it.
fn remove_and_check(point: PointLimits) {
    let dirs = point.dirs.clone();
    point.remove().expect("remove");
    for dir in &dirs {
        assert!(!dir.exists(), "left behind: {}", dir.display());
        let runner = dir.parent().expect("runner dir");
        let others = std::fs::read_dir(runner)
            .map(|r| r.flatten().any(|e| e.path().is_dir()))
            .unwrap_or(false);
        assert!(
            !runner.exists() || others,
            "empty runner dir left behind: {}",
            runner.display()
        );
    }
    let me = std::process::id();
    let mine: Vec<PathBuf> = leftover_dirs()
        .into_iter()
        .filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .and_then(stale::runner_pid)
                == Some(me)
        })
        .collect();
    assert!(
        mine.iter().all(|d| !dirs.iter().any(|p| p.starts_with(d))),
        "left behind: {mine:?}"
    );
}

/// Runs `sh -c script` inside the point and returns its stdout.
fn run_in(point: &PointLimits, script: &str) -> String {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script]);
    point.configure(&mut cmd);
    let out = cmd.output().expect("spawn /bin/sh inside the point");
    assert!(
        out.status.success(),
        "{script}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

#[test]
fn child_is_pinned_and_inside_the_cgroups() {
    let _s = serial();
    let limiter = cgroup_limiter();
    let point = limiter
        .create("real-pin", &device(1, Some(256), Some(0.5)))
        .expect("create");
    let out = run_in(
        &point,
        "cat /proc/self/status; echo ====; cat /proc/self/cgroup",
    );
    let (status, cgroups) = out.split_once("====").expect("separator");

    assert_eq!(
        status_field(status, "Cpus_allowed_list"),
        affinity::format_list(point.cpus())
    );
    assert_eq!(point.cpus(), &limiter.host_cpus()[..1]);

    let suffix = format!("/gilbench-{}/real-pin", std::process::id());
    let inside = cgroups.lines().filter(|l| l.ends_with(&suffix)).count();
    assert_eq!(
        inside,
        point.dirs.len(),
        "child in every point cgroup:\n{cgroups}"
    );

    // The kernel accepted the values (read back, not just written).
    match point.enforcement() {
        Enforcement::CgroupV1 => {
            let cpu = point
                .dirs
                .iter()
                .find(|d| d.join("cpu.cfs_quota_us").exists())
                .expect("cpu dir");
            assert_eq!(
                std::fs::read_to_string(cpu.join("cpu.cfs_quota_us"))
                    .unwrap_or_default()
                    .trim(),
                "50000"
            );
            let mem = point.memory_dir.as_ref().expect("memory dir");
            let limit =
                std::fs::read_to_string(mem.join("memory.limit_in_bytes")).unwrap_or_default();
            assert_eq!(limit.trim(), (256u64 << 20).to_string());
        }
        Enforcement::CgroupV2 => {
            let dir = &point.dirs[0];
            assert_eq!(
                std::fs::read_to_string(dir.join("cpu.max"))
                    .unwrap_or_default()
                    .trim(),
                "50000 100000"
            );
            assert_eq!(
                std::fs::read_to_string(dir.join("memory.max"))
                    .unwrap_or_default()
                    .trim(),
                (256u64 << 20).to_string()
            );
        }
        Enforcement::Affinity => unreachable!("cgroup_limiter"),
    }
    assert!(!point.oom_killed());
    remove_and_check(point);
}

#[test]
fn allocation_past_the_cap_is_oom_killed() {
    let _s = serial();
    let limiter = cgroup_limiter();
    let point = limiter
        .create("real-oom", &device(1, Some(64), None))
        .expect("create");
    assert!(point.memory_enforced());
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "b = bytearray(300 * 1024 * 1024)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    point.configure(&mut cmd);
    let status = cmd
        .status()
        .expect("python3 is needed for this test (apt-get install python3)");
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "expected an OOM kill, got {status:?}"
    );
    assert!(point.oom_killed(), "oom_killed() after the kill");
    let peak = point.memory_peak_bytes().expect("peak");
    assert!(
        peak > 32 << 20 && peak <= 64 << 20,
        "peak {peak} should be near the 64 MB cap"
    );
    remove_and_check(point);
}

/// Starts `script` (which must print a grandchild's pid first) in the point; returns the child
/// and the grandchild pid.
fn spawn_family(point: &PointLimits, script: &str) -> (std::process::Child, i32) {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script]).stdout(Stdio::piped());
    point.configure(&mut cmd);
    let mut child = cmd.spawn().expect("spawn");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read grandchild pid");
    let grandchild: i32 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid line {line:?}"));
    (child, grandchild)
}

/// Gone, or a zombie waiting for its (new) parent to reap it.
fn is_dead(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
    matches!(state, None | Some('Z') | Some('X'))
}

/// Waits up to 5 s for `pid` to die (SIGKILL is delivered asynchronously).
fn dies(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_dead(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn assert_kill_all(point: PointLimits, script: &str) {
    let (mut child, grandchild) = spawn_family(&point, script);
    assert!(!is_dead(grandchild), "grandchild alive before kill_all");
    point.kill_all();
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert!(
        dies(grandchild),
        "grandchild {grandchild} survived kill_all"
    );
    remove_and_check(point);
}

#[test]
fn kill_all_kills_children_and_grandchildren() {
    let _s = serial();
    let limiter = cgroup_limiter();
    // Same process group: reached through the group and the cgroup.
    let point = limiter
        .create("real-kill", &device(1, None, None))
        .expect("create");
    assert_kill_all(point, "sleep 1000 & echo $!; wait");
    // A grandchild in its own session is only reached through the cgroup.
    let point = limiter
        .create("real-kill-setsid", &device(1, None, None))
        .expect("create");
    assert_kill_all(point, "setsid sleep 1000 & echo $!; wait");
}

#[test]
fn affinity_fallback_pins_and_kills() {
    let _s = serial();
    let limiter = Limiter::with(Enforcement::Affinity).expect("affinity is always usable");
    let point = limiter
        .create("real-affinity", &device(1, Some(64), None))
        .expect("create");
    assert!(!point.memory_enforced());
    let last = *limiter.host_cpus().last().expect("a CPU");
    let out = run_in(&point, "cat /proc/self/status");
    assert_eq!(
        status_field(&out, "Cpus_allowed_list"),
        limiter.host_cpus()[0].to_string()
    );
    assert!(limiter.host_cpus().len() == 1 || last != limiter.host_cpus()[0]);
    // Under affinity only the process group reaches the grandchild.
    assert_kill_all(point, "sleep 1000 & echo $!; wait");
}

#[test]
fn stale_runner_dirs_are_cleaned() {
    let _s = serial();
    let limiter = cgroup_limiter();
    let base = match &limiter.backend {
        Backend::V2(tree) => tree.root.clone(),
        Backend::V1(tree) => tree.hiers[0].base.clone(),
        Backend::Affinity => unreachable!("cgroup_limiter"),
    };
    // Above the kernel's largest pid_max, so no such process can exist.
    let stale_dir = base.join("gilbench-999999999");
    std::fs::create_dir_all(stale_dir.join("point")).expect("mkdir a stale runner dir");
    assert!(leftover_dirs().contains(&stale_dir));
    clean_stale();
    assert!(
        !stale_dir.exists(),
        "clean_stale left {}",
        stale_dir.display()
    );
}

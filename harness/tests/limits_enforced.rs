//! Device limits really hold: cores, memory, time.
mod common;
use common::*;
use gilbench::results::Status;

const HEADER: &str = r#"
seed = 3
time_limit_s = 30
[devices.one]
cpus = 1
[devices.capped]
cpus = 1
memory_mb = 64
[workloads.spin]
phases = [ { cpu = { kernel = "arith", work_us = 2000 } } ]
tasks = { count = 600 }
[workloads.hog]
phases = [ { alloc = { mb = 200 } }, { cpu = { kernel = "arith", work_us = 100 } } ]
tasks = { count = 4 }
[workloads.small]
phases = [ { alloc = { mb = 4 } }, { cpu = { kernel = "arith", work_us = 100 } } ]
tasks = { count = 50 }
"#;

#[test]
fn one_cpu_holds_four_free_threaded_cpu_bound_threads_to_one_core() {
    let _one_at_a_time = serial();
    require_cgroups();
    let (dir, file) = scenario(&format!(
        "{HEADER}\n[sweep]\ndevices = [\"one\"]\nruntimes = [\"free-threaded\"]\nworkloads = [\"spin\"]\nthreads = [4]\n"
    ));
    let rows = run(&file, &dir.path().join("out"));
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.status, Status::Ok, "{}", r.message);
    assert_eq!(r.cpus, 1);
    let used = r.cpu_cores_used.unwrap();
    // Four busy threads would use both host cores without the cpuset.
    assert!(used <= 1.1, "4 CPU-bound threads on a 1-core device used {used:.2} cores");
    assert!(used >= 0.5, "the point barely ran: {used:.2} cores");
    assert_no_leftover_cgroups();
}

#[test]
fn oom_killed_point_is_a_row_and_the_sweep_goes_on() {
    let _one_at_a_time = serial();
    require_cgroups();
    let (dir, file) = scenario(&format!(
        "{HEADER}\n[sweep]\ndevices = [\"capped\"]\nruntimes = [\"gil\"]\nworkloads = [\"hog\", \"small\"]\nthreads = [1]\n"
    ));
    let rows = run(&file, &dir.path().join("out"));
    let by = |w: &str| rows.iter().find(|r| r.workload == w).expect("row present");
    assert_eq!(by("hog").status, Status::Oom, "hog: {}", by("hog").message);
    assert!(by("hog").tps.is_none());
    assert_eq!(by("small").status, Status::Ok, "small: {}", by("small").message);
    assert_eq!(by("small").memory_cap_mb, Some(64));
    assert_no_leftover_cgroups();
}

#[test]
fn point_past_its_time_limit_is_a_timeout_row() {
    let _one_at_a_time = serial();
    require_cgroups();
    let (dir, file) = scenario(
        r#"
time_limit_s = 1
[devices.one]
cpus = 1
[workloads.slow]
phases = [ { io = { fixed_ms = 20000 } } ]
tasks = { count = 1 }
[workloads.quick]
phases = [ { io = { fixed_ms = 1 } } ]
tasks = { count = 10 }
[sweep]
devices = ["one"]
runtimes = ["gil"]
workloads = ["slow", "quick"]
threads = [1]
"#,
    );
    let rows = run(&file, &dir.path().join("out"));
    let slow = rows.iter().find(|r| r.workload == "slow").unwrap();
    assert_eq!(slow.status, Status::Timeout, "{}", slow.message);
    assert!(slow.point_wall_s < 10.0, "the time-out took {} s", slow.point_wall_s);
    let quick = rows.iter().find(|r| r.workload == "quick").unwrap();
    assert_eq!(quick.status, Status::Ok, "{}", quick.message);
    assert_no_leftover_cgroups();
}

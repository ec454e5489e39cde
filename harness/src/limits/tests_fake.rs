//! The cgroup back ends against fake trees: plain directories whose control files the hooks
//! create and delete the way the kernel would.

use std::fs;
use std::path::{Path, PathBuf};

use super::fs::Hooks;
use super::*;

const PID: u32 = 4242;

fn device(cpus: u32, memory_mb: Option<u64>, cpu_quota: Option<f64>) -> Device {
    Device {
        name: "dev".into(),
        cpus,
        memory_mb,
        cpu_quota,
    }
}

fn touch(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        fs::write(dir.join(name), content).expect("write fake control file");
    }
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn clear_files(dir: &Path) {
    for entry in fs::read_dir(dir).expect("read fake dir").flatten() {
        if entry.path().is_file() {
            fs::remove_file(entry.path()).expect("remove fake control file");
        }
    }
}

/// What a v1 mkdir populates, by hierarchy (the fake mounts are named after their controller).
fn v1_mkdir(dir: &Path) {
    let s = dir.to_string_lossy();
    touch(dir, &[("cgroup.procs", ""), ("tasks", "")]);
    if s.contains("/cpuset/") {
        touch(dir, &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
    } else if s.contains("/memory/") {
        touch(
            dir,
            &[
                ("memory.limit_in_bytes", "9223372036854771712"),
                ("memory.memsw.limit_in_bytes", "9223372036854771712"),
                ("memory.swappiness", "60"),
                // Inherited from a parent that disabled the OOM killer.
                (
                    "memory.oom_control",
                    "oom_kill_disable 1\nunder_oom 0\noom_kill 0\n",
                ),
                ("memory.max_usage_in_bytes", "0"),
            ],
        );
    } else if s.contains("/cpu/") {
        touch(
            dir,
            &[("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "-1")],
        );
    }
}

const V1_HOOKS: Hooks = Hooks {
    after_mkdir: Some(v1_mkdir),
    before_rmdir: Some(clear_files),
};

struct FakeV1 {
    _tmp: tempfile::TempDir,
    top: PathBuf,
    mountinfo: String,
    own: &'static str,
}

fn fake_v1(with_cpu: bool) -> FakeV1 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let top = tmp.path().to_path_buf();
    fs::create_dir_all(top.join("cpuset")).expect("mkdir");
    fs::create_dir_all(top.join("memory/nested/x")).expect("mkdir");
    fs::create_dir_all(top.join("cpu")).expect("mkdir");
    touch(
        &top.join("cpuset"),
        &[("cpuset.cpus", "0-3\n"), ("cpuset.mems", "0\n")],
    );
    let mut mountinfo = format!(
        "31 23 0:28 / {t} rw - tmpfs tmpfs rw\n\
         34 31 0:31 / {t}/cpuset rw - cgroup cgroup rw,cpuset\n\
         35 31 0:32 / {t}/memory rw - cgroup cgroup rw,memory\n",
        t = top.display()
    );
    if with_cpu {
        mountinfo.push_str(&format!(
            "32 31 0:29 / {}/cpu rw - cgroup cgroup rw,cpu,cpuacct\n",
            top.display()
        ));
    }
    let own = "4:memory:/nested/x\n3:cpuset:/\n1:cpu,cpuacct:/\n0::/\n";
    FakeV1 {
        _tmp: tmp,
        top,
        mountinfo,
        own,
    }
}

impl FakeV1 {
    fn limiter(&self) -> Limiter {
        let mounts = detect::parse_mountinfo(&self.mountinfo);
        let own = detect::parse_proc_cgroup(self.own);
        let hiers = cgroup_v1::locate(&mounts, &own).expect("locate fake v1");
        let tree = V1Tree::open(hiers, PID, V1_HOOKS).expect("open fake v1");
        Limiter::from_backend(Backend::V1(tree), vec![0, 1, 2, 3], PID)
    }

    fn bases(&self) -> Vec<PathBuf> {
        stale::bases(
            &detect::parse_mountinfo(&self.mountinfo),
            &detect::parse_proc_cgroup(self.own),
        )
    }
}

#[test]
fn v1_writes_limits_in_every_hierarchy() {
    let fake = fake_v1(true);
    let limiter = fake.limiter();
    assert_eq!(limiter.enforcement(), Enforcement::CgroupV1);
    assert!(
        stale::leftover_in(&fake.bases()).is_empty(),
        "the probe must not leave its dir"
    );

    let point = limiter
        .create("rpi/4 #1", &device(2, Some(64), Some(0.5)))
        .expect("create");
    assert_eq!(point.cpus(), &[0, 1]);
    assert!(point.memory_enforced());

    let runner = |h: &str| fake.top.join(h).join("gilbench-4242");
    let cpuset = runner("cpuset");
    assert_eq!(
        read(cpuset.join("cpuset.cpus")),
        "0-3",
        "runner dir copies the parent's cpus"
    );
    assert_eq!(read(cpuset.join("cpuset.mems")), "0");
    assert_eq!(read(cpuset.join("rpi_4__1/cpuset.cpus")), "0-1");
    assert_eq!(read(cpuset.join("rpi_4__1/cpuset.mems")), "0");

    let memory = fake.top.join("memory/nested/x/gilbench-4242/rpi_4__1");
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(memory.join("memory.memsw.limit_in_bytes")), "67108864");
    assert_eq!(
        read(memory.join("memory.swappiness")),
        "60",
        "memsw is there, swappiness untouched"
    );
    assert_eq!(
        read(memory.join("memory.oom_control")),
        "0",
        "OOM killer re-enabled"
    );

    let cpu = runner("cpu").join("rpi_4__1");
    assert_eq!(read(cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "50000");

    // Read-back of the accounting files.
    assert!(!point.oom_killed());
    touch(
        &memory,
        &[(
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        )],
    );
    assert!(point.oom_killed());
    touch(&memory, &[("memory.max_usage_in_bytes", "1234\n")]);
    assert_eq!(point.memory_peak_bytes(), Some(1234));

    point.remove().expect("remove");
    assert!(stale::leftover_in(&fake.bases()).is_empty());
    assert!(!runner("cpu").exists());
}

#[test]
fn v1_without_quota_or_memory_cap_skips_those_files() {
    let fake = fake_v1(true);
    let point = fake
        .limiter()
        .create("p", &device(8, None, None))
        .expect("create");
    assert_eq!(point.cpus(), &[0, 1, 2, 3], "clamped to the host");
    assert!(!point.memory_enforced());
    let memory = fake.top.join("memory/nested/x/gilbench-4242/p");
    assert_eq!(
        read(memory.join("memory.limit_in_bytes")),
        "9223372036854771712"
    );
    assert!(
        !fake.top.join("cpu/gilbench-4242").exists(),
        "no quota, no cpu cgroup"
    );
    drop(point);
    assert!(
        stale::leftover_in(&fake.bases()).is_empty(),
        "drop cleans up too"
    );
}

#[test]
fn v1_runner_dir_goes_with_the_last_point() {
    let fake = fake_v1(true);
    let limiter = fake.limiter();
    let a = limiter
        .create("a", &device(1, Some(64), None))
        .expect("create a");
    let b = limiter
        .create("b", &device(1, Some(64), None))
        .expect("create b");
    a.remove().expect("remove a");
    assert_eq!(
        stale::leftover_in(&fake.bases()).len(),
        2,
        "cpuset and memory runner dirs stay for b"
    );
    b.remove().expect("remove b");
    assert!(stale::leftover_in(&fake.bases()).is_empty());
}

#[test]
fn v1_errors_name_the_problem() {
    let fake = fake_v1(false);
    let err = fake
        .limiter()
        .create("q", &device(1, None, Some(0.5)))
        .expect_err("no cpu hierarchy");
    assert!(matches!(err, LimitsError::NoCpuController { .. }), "{err}");
    assert!(
        stale::leftover_in(&fake.bases()).is_empty(),
        "a failed create leaves nothing"
    );

    let mounts = detect::parse_mountinfo(&fake.mountinfo.replace("rw,cpuset", "rw,freezer"));
    let err =
        cgroup_v1::locate(&mounts, &detect::parse_proc_cgroup(fake.own)).expect_err("no cpuset");
    assert!(err.to_string().contains("cpuset controller"), "{err}");

    // A hierarchy that cannot be written to.
    let hiers = vec![cgroup_v1::V1Hier {
        base: fake.top.join("does/not/exist"),
        cpuset: false,
        memory: true,
        cpu: false,
    }];
    let err = V1Tree::open(hiers, PID, V1_HOOKS).expect_err("not writable");
    let msg = err.to_string();
    assert!(
        msg.contains("memory hierarchy is not writable") && msg.contains("--enforcement affinity"),
        "{msg}"
    );
}

/// What a v2 mkdir populates once the parent has enabled cpuset, memory and cpu.
fn v2_mkdir(dir: &Path) {
    touch(
        dir,
        &[
            ("cgroup.controllers", "cpuset cpu memory"),
            ("cgroup.subtree_control", ""),
            ("cgroup.procs", ""),
            ("cgroup.kill", ""),
            ("cpuset.cpus", ""),
            ("memory.max", "max"),
            ("memory.swap.max", "max"),
            ("memory.oom.group", "0"),
            ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
            ("memory.peak", "0"),
            ("cpu.max", "max 100000"),
        ],
    );
}

const V2_HOOKS: Hooks = Hooks {
    after_mkdir: Some(v2_mkdir),
    before_rmdir: Some(clear_files),
};

fn fake_v2(controllers: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    touch(
        tmp.path(),
        &[
            ("cgroup.controllers", controllers),
            ("cgroup.subtree_control", "memory pids"),
        ],
    );
    tmp
}

#[test]
fn v2_writes_limits_at_the_root() {
    let tmp = fake_v2("cpuset cpu io memory pids");
    let root = tmp.path();
    let tree = V2Tree::open(root, PID, V2_HOOKS).expect("open fake v2");
    assert!(tree.has_cpu);
    assert_eq!(
        read(root.join("cgroup.subtree_control")),
        "+cpuset +cpu",
        "only the missing ones"
    );
    assert!(
        !root.join("gilbench-4242").exists(),
        "the probe must not leave its dir"
    );

    let limiter = Limiter::from_backend(Backend::V2(tree), vec![0, 1, 2, 3], PID);
    let point = limiter
        .create("pt.1", &device(2, Some(64), Some(1.5)))
        .expect("create");
    assert_eq!(point.enforcement(), Enforcement::CgroupV2);
    let runner = root.join("gilbench-4242");
    assert_eq!(
        read(runner.join("cgroup.subtree_control")),
        "+cpuset +memory +cpu"
    );
    let dir = runner.join("pt_1");
    assert_eq!(read(dir.join("cpuset.cpus")), "0-1");
    assert_eq!(read(dir.join("memory.max")), "67108864");
    assert_eq!(read(dir.join("memory.swap.max")), "0");
    assert_eq!(read(dir.join("memory.oom.group")), "1");
    assert_eq!(read(dir.join("cpu.max")), "150000 100000");

    assert!(!point.oom_killed());
    touch(
        &dir,
        &[
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            ("memory.peak", "777\n"),
        ],
    );
    assert!(point.oom_killed());
    assert_eq!(point.memory_peak_bytes(), Some(777));

    point.kill_all();
    assert_eq!(
        read(dir.join("cgroup.kill")),
        "1",
        "kill_all uses cgroup.kill"
    );
    point.remove().expect("remove");
    assert!(stale::leftover_in(&[root.to_path_buf()]).is_empty());
}

#[test]
fn v2_without_controllers_is_unusable() {
    // The hybrid layout: cgroup2 at /sys/fs/cgroup/unified with no useful controllers.
    let tmp = fake_v2("hugetlb");
    let err = V2Tree::open(tmp.path(), PID, V2_HOOKS).expect_err("hybrid");
    let msg = err.to_string();
    assert!(
        msg.contains("lacks cpuset, memory") && msg.contains("--enforcement cgroup-v1"),
        "{msg}"
    );

    let tmp = fake_v2("cpuset memory");
    let tree = V2Tree::open(tmp.path(), PID, V2_HOOKS).expect("cpu is optional");
    let limiter = Limiter::from_backend(Backend::V2(tree), vec![0], PID);
    let err = limiter
        .create("q", &device(1, None, Some(0.5)))
        .expect_err("quota without cpu");
    assert!(err.to_string().contains("no cpu controller"), "{err}");
}

#[test]
fn affinity_has_cpus_only() {
    let limiter = Limiter::from_backend(Backend::Affinity, vec![2, 3], PID);
    let point = limiter
        .create("a", &device(4, Some(64), Some(0.5)))
        .expect("create");
    assert_eq!(point.cpus(), &[2, 3]);
    assert!(!point.memory_enforced());
    assert!(!point.oom_killed());
    assert_eq!(point.memory_peak_bytes(), None);
    point.remove().expect("nothing to remove");
}

#[test]
fn device_is_checked() {
    let host = [0, 1];
    assert!(matches!(
        PointSpec::new(&device(0, None, None), &host),
        Err(LimitsError::NoCpus { .. })
    ));
    assert!(matches!(
        PointSpec::new(&device(1, Some(0), None), &host),
        Err(LimitsError::BadMemory { .. })
    ));
    for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            PointSpec::new(&device(1, None, Some(q)), &host),
            Err(LimitsError::BadQuota { .. })
        ));
    }
    let spec = PointSpec::new(&device(1, Some(1), Some(0.001)), &host).expect("valid");
    assert_eq!(
        spec,
        PointSpec {
            cpus: vec![0],
            memory_bytes: Some(1 << 20),
            quota_us: Some(1_000)
        }
    );
}

#[test]
fn labels_are_sanitised() {
    assert_eq!(sanitize("rpi4/gil fixed-8_r0"), "rpi4_gil_fixed-8_r0");
    assert_eq!(sanitize("memory.max"), "memory_max");
    assert_eq!(sanitize("../x"), "___x");
    assert_eq!(sanitize(""), "point-");
    assert_eq!(sanitize("tasks"), "point-tasks");
}

#[test]
fn enforcement_names() {
    for e in [
        Enforcement::CgroupV2,
        Enforcement::CgroupV1,
        Enforcement::Affinity,
    ] {
        assert_eq!(e.as_str().parse::<Enforcement>().expect("parse"), e);
        assert_eq!(e.to_string(), e.as_str());
        let json = serde_json::to_string(&e).expect("serialize");
        assert_eq!(json, format!("\"{}\"", e.as_str()));
        assert_eq!(
            serde_json::from_str::<Enforcement>(&json).expect("deserialize"),
            e
        );
    }
    let err = "cgroups".parse::<Enforcement>().expect_err("unknown");
    assert!(err
        .to_string()
        .contains("expected cgroup-v2, cgroup-v1 or affinity"));
}

#[test]
fn stale_runner_dirs_of_dead_runners_go() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().to_path_buf();
    fs::create_dir_all(base.join("gilbench-1/p1")).expect("mkdir");
    fs::create_dir_all(base.join("gilbench-2/p2")).expect("mkdir");
    fs::create_dir_all(base.join("other")).expect("mkdir");
    let bases = std::slice::from_ref(&base);
    assert_eq!(
        stale::leftover_in(bases),
        vec![base.join("gilbench-1"), base.join("gilbench-2")]
    );
    stale::clean_in(bases, Hooks::default(), |pid| pid == 2);
    assert_eq!(stale::leftover_in(bases), vec![base.join("gilbench-2")]);
    assert!(base.join("other").exists());
}

#[test]
fn shareable_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<Limiter>();
    check::<PointLimits>();
    check::<LimitsError>();
}

#[test]
fn errors_say_what_to_do() {
    let v1 = fake_v1(true);
    let hiers = vec![cgroup_v1::V1Hier {
        base: v1.top.join("nope"),
        cpuset: true,
        memory: false,
        cpu: false,
    }];
    let msg = V1Tree::open(hiers, PID, V1_HOOKS)
        .expect_err("not writable")
        .to_string();
    assert!(
        msg.starts_with("cgroup v1 is not usable here: the cpuset hierarchy is not writable at"),
        "{msg}"
    );
    assert!(
        msg.ends_with("run as root or use --enforcement affinity"),
        "{msg}"
    );
}

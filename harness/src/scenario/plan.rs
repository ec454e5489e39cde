//! Scenario -> Plan (the cross product, in run order) and a rough estimate of its duration.
use std::collections::HashSet;
use std::time::Duration;

use workloads::Phase;

use super::model::{Arrival, Plan, Point, RuntimeSpec, Scenario, Sweep, TaskBudget};

/// Fixed cost of one point besides its tasks: process start, calibration, thread spawn.
const POINT_OVERHEAD: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct Estimate {
    pub points: usize,
    /// Total, with [`POINT_OVERHEAD`] per point.
    pub duration: Duration,
    /// How many points are expected to hit the scenario's time limit.
    pub capped: usize,
}

impl Scenario {
    /// Repetition (outer), then each sweep in turn: device, runtime, workload, strategy,
    /// threads (inner). A repetition is a whole pass over the scenario, so that the spread
    /// between repetitions includes the machine's drift over the run (with repetitions
    /// back to back, the intervals only saw seconds of it) and an interrupted run keeps
    /// whole passes. A point already in an earlier sweep is not repeated. Names a sweep does
    /// not resolve are skipped (`load` rejects them).
    pub fn plan(&self) -> Plan {
        let mut points = Vec::new();
        let mut seen = HashSet::new();
        let reps = |sw: &Sweep| sw.repetitions.unwrap_or(self.repetitions);
        let passes = self.sweeps.iter().map(reps).max().unwrap_or(0);
        for rep in 0..passes {
            for sw in self.sweeps.iter().filter(|sw| rep < reps(sw)) {
                self.expand(sw, rep, &mut points, &mut seen);
            }
        }
        Plan { points }
    }

    /// `--repetitions N`: N repetitions everywhere, over the scenario's and its grids'.
    pub fn override_repetitions(&mut self, n: Option<u32>) {
        if let Some(n) = n {
            self.repetitions = n;
            for sw in &mut self.sweeps {
                sw.repetitions = None;
            }
        }
    }

    fn expand(&self, sw: &Sweep, rep: u32, points: &mut Vec<Point>, seen: &mut HashSet<String>) {
        for device in sw.devices.iter().filter_map(|d| self.devices.get(d)) {
            for (runtime_name, runtime) in sw
                .runtimes
                .iter()
                .filter_map(|r| self.runtimes.get(r).map(|s| (r, s)))
            {
                for workload in sw.workloads.iter().filter_map(|w| self.workloads.get(w)) {
                    for strategy in &sw.strategies {
                        // Sized at run time (elastic pools, fixed-best): one point, threads = 0.
                        let sizes = if strategy.sizes_itself() { &[0][..] } else { &sw.threads[..] };
                        for &threads in sizes {
                            let mut point = Point {
                                scenario: self.name.clone(),
                                device: device.clone(),
                                runtime_name: runtime_name.clone(),
                                runtime: runtime.clone(),
                                workload: workload.clone(),
                                strategy: strategy.clone(),
                                threads,
                                rep,
                                tasks: workload.tasks.unwrap_or(self.tasks),
                                arrival: workload.arrival.unwrap_or(self.arrival),
                                onnx: self.onnx.clone(),
                                seed: 0,
                                time_limit: self.time_limit,
                                calibration: Vec::new(),
                            };
                            let key = point.key();
                            point.seed = point_seed(self.seed, &workload.name, rep);
                            if seen.insert(key.to_string()) {
                                points.push(point);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// FNV-1a over the scenario seed, the workload and the repetition, finished with the
/// SplitMix64 mixer. Common random numbers: every device, runtime, strategy and N of one
/// workload and repetition sees the same draws (I/O latencies per task index, open-loop
/// arrival times), so that the points being compared differ only in what is compared. With
/// a seed per point, an open-loop workload's offered load differed by several per cent from
/// point to point, and the best fixed pool was partly the luckiest arrival draw.
fn point_seed(seed: u64, workload: &str, rep: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed
        .to_le_bytes()
        .into_iter()
        .chain(workload.bytes())
        .chain(rep.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A rough, honest wall-clock estimate of running `plan` one point after another.
pub fn estimate(plan: &Plan) -> Estimate {
    let mut duration = Duration::ZERO;
    let mut capped = 0;
    for p in &plan.points {
        let (run, hit_limit) = point_run_time(p);
        capped += usize::from(hit_limit);
        duration = duration.saturating_add(POINT_OVERHEAD).saturating_add(run);
    }
    Estimate {
        points: plan.points.len(),
        duration,
        capped,
    }
}

/// The task time of one point and whether the time limit cuts it.
fn point_run_time(p: &Point) -> (Duration, bool) {
    let secs = match p.tasks {
        TaskBudget::Duration(d) => d.as_secs_f64(),
        TaskBudget::Count(n) => {
            let phases = &p.workload.phases;
            // Seconds per task: all phases, the lock-holding ones, all on-core ones.
            let task: f64 = phases.iter().map(Phase::nominal_ms).sum::<f64>() / 1e3;
            let held: f64 = phases
                .iter()
                .filter(|ph| matches!(ph, Phase::Cpu(_)))
                .map(Phase::nominal_ms)
                .sum::<f64>()
                / 1e3;
            let on_core: f64 = phases
                .iter()
                .filter(|ph| matches!(ph, Phase::Cpu(_) | Phase::Native(_)))
                .map(Phase::nominal_ms)
                .sum::<f64>()
                / 1e3;
            let cores = p.device.cpu_quota.map_or(f64::from(p.device.cpus), |q| {
                q.min(f64::from(p.device.cpus))
            });
            // Tasks per second, bounded by the threads, the cores, the lock and the arrivals.
            let mut rate = f64::INFINITY;
            if task > 0.0 {
                // Sized at run time (threads = 0): no thread bound.
                if p.threads > 0 {
                    rate = rate.min(f64::from(p.threads) / task);
                }
            }
            if on_core > 0.0 && cores > 0.0 {
                rate = rate.min(cores / on_core);
            }
            // A real CPython has a GIL too (a free-threaded build would be faster than estimated).
            if matches!(p.runtime, RuntimeSpec::Gil { .. } | RuntimeSpec::Cpython { .. }) && held > 0.0 {
                rate = rate.min(1.0 / held);
            }
            if let Arrival::Poisson { rate_tps } | Arrival::Bursty { rate_tps, .. } = p.arrival {
                if rate_tps > 0.0 {
                    rate = rate.min(rate_tps);
                }
            }
            n as f64 / rate
        }
    };
    let limit = p.time_limit.as_secs_f64();
    if secs.is_nan() || secs >= limit {
        (p.time_limit, secs > limit)
    } else {
        (
            Duration::try_from_secs_f64(secs).unwrap_or(p.time_limit),
            false,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::model::{Device, StrategySpec, Workload};
    use super::*;
    use workloads::{Kernel, Latency, NonNeg, Work};

    const TEXT: &str = r#"seed = 7
repetitions = 2
time_limit_s = 30
tasks = { count = 500 }

[devices.edge-1c]
cpus = 1

[devices.edge-4c]
cpus = 4

[workloads.a]
phases = [{ cpu = { kernel = "arith", work_us = 100 } }]

[workloads.b]
phases = [{ io = { fixed_ms = 5 } }]
tasks = { duration_s = 1.5 }
arrival = { poisson = { rate_tps = 100 } }

[sweep]
devices = ["DEVICES"]
runtimes = ["gil", "free-threaded"]
workloads = ["a", "b"]
threads = { pow2 = [1, 4] }
"#;

    fn scenario(devices: &str, seed: u64) -> Scenario {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plan.toml");
        let text = TEXT
            .replace("\"DEVICES\"", devices)
            .replace("seed = 7", &format!("seed = {seed}"));
        std::fs::write(&path, text).expect("write");
        super::super::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn keys(plan: &Plan) -> Vec<String> {
        plan.points.iter().map(|p| p.key().to_string()).collect()
    }

    #[test]
    fn several_sweeps_each_with_its_repetitions_and_no_point_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("multi.toml");
        let grids = r#"
[[sweep]]
name = "cliff"
devices = ["edge-1c"]
runtimes = ["gil"]
workloads = ["a"]
threads = [1, 4]

[[sweep]]
name = "threshold"
repetitions = 1
devices = ["edge-1c"]
runtimes = ["gil"]
workloads = ["a"]
strategies = ["fixed", { adaptive-paper = { beta_thresh = 0.2 } }, { adaptive-paper = { beta_thresh = 0.7 } }]
threads = [4, 8]
"#;
        let text = TEXT.split("[sweep]").next().unwrap().to_string() + grids;
        std::fs::write(&path, text).expect("write");
        let sc = super::super::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.sweeps.len(), 2);
        assert_eq!(sc.sweeps[1].name.as_deref(), Some("threshold"));
        let k = keys(&sc.plan());
        assert_eq!(
            k,
            [
                // Repetition 0 of both grids; fixed/4/0 is already in the first.
                "edge-1c/gil/a/fixed/1/0",
                "edge-1c/gil/a/fixed/4/0",
                "edge-1c/gil/a/fixed/8/0",
                "edge-1c/gil/a/adaptive-paper{beta_thresh=0.2}/0/0",
                "edge-1c/gil/a/adaptive-paper{beta_thresh=0.7}/0/0",
                // Repetition 1: the second grid has one repetition only.
                "edge-1c/gil/a/fixed/1/1",
                "edge-1c/gil/a/fixed/4/1",
            ]
        );
    }

    #[test]
    fn plan_expands_in_order() {
        let sc = scenario("\"edge-1c\", \"edge-4c\"", 7);
        let plan = sc.plan();
        // 2 devices x 2 runtimes x 2 workloads x 1 strategy x 3 thread counts x 2 reps.
        assert_eq!(plan.points.len(), 48);
        let k = keys(&plan);
        // Repetition (a whole pass), device, runtime, workload, strategy, threads.
        assert_eq!(
            k[..4],
            [
                "edge-1c/gil/a/fixed/1/0",
                "edge-1c/gil/a/fixed/2/0",
                "edge-1c/gil/a/fixed/4/0",
                "edge-1c/gil/b/fixed/1/0",
            ]
        );
        assert_eq!(k[6], "edge-1c/free-threaded/a/fixed/1/0");
        assert_eq!(k[12], "edge-4c/gil/a/fixed/1/0");
        assert_eq!(k[23], "edge-4c/free-threaded/b/fixed/4/0");
        assert_eq!(k[24], "edge-1c/gil/a/fixed/1/1");
        assert_eq!(k[47], "edge-4c/free-threaded/b/fixed/4/1");

        let p = &plan.points[0];
        assert_eq!(p.scenario, "plan");
        assert_eq!(
            p.device,
            Device {
                name: "edge-1c".into(),
                cpus: 1,
                memory_mb: None,
                cpu_quota: None
            }
        );
        assert_eq!(
            p.runtime,
            RuntimeSpec::Gil {
                switch_interval_us: 5000
            }
        );
        assert_eq!(p.strategy, StrategySpec::Fixed);
        assert_eq!(p.time_limit, Duration::from_secs(30));
        assert_eq!(plan.points[6].runtime, RuntimeSpec::FreeThreaded);
    }

    #[test]
    fn workload_overrides_apply() {
        let plan = scenario("\"edge-1c\"", 7).plan();
        for p in &plan.points {
            match p.workload.name.as_str() {
                "a" => {
                    assert_eq!(p.tasks, TaskBudget::Count(500));
                    assert_eq!(p.arrival, Arrival::Batch);
                }
                "b" => {
                    assert_eq!(p.tasks, TaskBudget::Duration(Duration::from_millis(1500)));
                    assert_eq!(p.arrival, Arrival::Poisson { rate_tps: 100.0 });
                }
                other => panic!("unexpected workload {other}"),
            }
        }
    }

    #[test]
    fn seeds_are_shared_by_a_workload_and_repetition_and_order_free() {
        let sc = scenario("\"edge-1c\", \"edge-4c\"", 7);
        let plan = sc.plan();
        let again = sc.plan();
        let seeds: Vec<u64> = plan.points.iter().map(|p| p.seed).collect();
        assert_eq!(
            seeds,
            again.points.iter().map(|p| p.seed).collect::<Vec<_>>()
        );
        // One seed per workload and repetition, shared by every device, runtime and N.
        let distinct: std::collections::HashSet<u64> = seeds.iter().copied().collect();
        assert_eq!(distinct.len(), 2 * 2, "workloads a and b, 2 repetitions each");
        for p in &plan.points {
            for q in &plan.points {
                let same_draws = p.workload.name == q.workload.name && p.rep == q.rep;
                assert_eq!(p.seed == q.seed, same_draws, "{} vs {}", p.key(), q.key());
            }
        }

        // Another sweep order, or a subset, gives each point the same seed.
        let reversed = scenario("\"edge-4c\", \"edge-1c\"", 7).plan();
        let only = scenario("\"edge-4c\"", 7).plan();
        for other in [&reversed, &only] {
            for p in &other.points {
                let same = plan
                    .points
                    .iter()
                    .find(|q| q.key() == p.key())
                    .expect("same key");
                assert_eq!(same.seed, p.seed, "{}", p.key());
            }
        }
        assert_ne!(keys(&reversed), keys(&plan));

        // Another scenario seed gives other point seeds.
        let reseeded = scenario("\"edge-1c\", \"edge-4c\"", 8).plan();
        assert!(plan
            .points
            .iter()
            .zip(&reseeded.points)
            .all(|(a, b)| a.seed != b.seed));
        // A known value, so that a change of the hash (and of every drawn latency) is a
        // conscious one.
        assert_eq!(plan.points[0].key().to_string(), "edge-1c/gil/a/fixed/1/0");
        assert_eq!(plan.points[0].seed, 1_914_539_250_095_572_378);
    }

    pub(crate) fn point(
        phases: Vec<Phase>,
        runtime: RuntimeSpec,
        cpus: u32,
        threads: u32,
        tasks: TaskBudget,
    ) -> Point {
        Point {
            scenario: "t".into(),
            device: Device {
                name: "d".into(),
                cpus,
                memory_mb: None,
                cpu_quota: None,
            },
            runtime_name: "r".into(),
            runtime,
            workload: Workload {
                name: "w".into(),
                description: None,
                phases,
                tasks: None,
                arrival: None,
            },
            strategy: StrategySpec::Fixed,
            threads,
            rep: 0,
            tasks,
            arrival: Arrival::Batch,
            onnx: Default::default(),
            seed: 0,
            time_limit: Duration::from_secs(120),
            calibration: Vec::new(),
        }
    }

    fn cpu_ms(ms: f64) -> Phase {
        Phase::Cpu(Work {
            kernel: Kernel::Arith,
            work_us: NonNeg(ms * 1000.0),
        })
    }

    fn native_ms(ms: f64) -> Phase {
        Phase::Native(Work {
            kernel: Kernel::Matmul,
            work_us: NonNeg(ms * 1000.0),
        })
    }

    fn io_ms(ms: f64) -> Phase {
        Phase::Io(Latency::FixedMs(NonNeg(ms)))
    }

    fn secs(points: Vec<Point>) -> f64 {
        estimate(&Plan { points }).duration.as_secs_f64()
    }

    const GIL: RuntimeSpec = RuntimeSpec::Gil {
        switch_interval_us: 5000,
    };
    const FREE: RuntimeSpec = RuntimeSpec::FreeThreaded;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn estimate_bounds() {
        let n = TaskBudget::Count(1000);
        // 1 ms of cpu per task, 8 threads, 4 cores: the lock allows 1000 tasks/s.
        assert!(close(
            secs(vec![point(vec![cpu_ms(1.0)], GIL, 4, 8, n)]),
            0.3 + 1.0
        ));
        // Without the lock, the cores allow 4000 tasks/s.
        assert!(close(
            secs(vec![point(vec![cpu_ms(1.0)], FREE, 4, 8, n)]),
            0.3 + 0.25
        ));
        // Two threads are the bound: 2000 tasks/s.
        assert!(close(
            secs(vec![point(vec![cpu_ms(1.0)], FREE, 4, 2, n)]),
            0.3 + 0.5
        ));
        // Native code runs outside the lock: the cores bound it even under the GIL.
        assert!(close(
            secs(vec![point(vec![native_ms(1.0)], GIL, 4, 8, n)]),
            0.3 + 0.25
        ));
        // Pure I/O: 10 ms per task, 10 threads -> 1000 tasks/s, whatever the cores.
        assert!(close(
            secs(vec![point(vec![io_ms(10.0)], GIL, 1, 10, n)]),
            0.3 + 1.0
        ));
        // A quota of half a core halves the core bound.
        let mut half = point(vec![cpu_ms(1.0)], FREE, 1, 8, n);
        half.device.cpu_quota = Some(0.5);
        assert!(close(secs(vec![half]), 0.3 + 2.0));
        // Poisson arrivals at 100/s: 10 s for 1000 tasks.
        let mut open = point(vec![io_ms(1.0)], FREE, 4, 64, n);
        open.arrival = Arrival::Poisson { rate_tps: 100.0 };
        assert!(close(secs(vec![open]), 0.3 + 10.0));
        // A duration budget is its duration.
        let timed = point(
            vec![cpu_ms(1.0)],
            GIL,
            1,
            1,
            TaskBudget::Duration(Duration::from_secs(2)),
        );
        assert!(close(secs(vec![timed]), 2.3));
        // Nothing but allocations: only the overhead.
        let alloc = Phase::Alloc(workloads::Alloc { mb: NonNeg(1.0) });
        assert!(close(secs(vec![point(vec![alloc], GIL, 1, 1, n)]), 0.3));
    }

    #[test]
    fn estimate_caps_at_the_time_limit_and_sums() {
        let slow = point(vec![cpu_ms(100.0)], GIL, 1, 1, TaskBudget::Count(1_000_000));
        let fast = point(vec![cpu_ms(1.0)], FREE, 4, 8, TaskBudget::Count(1000));
        let est = estimate(&Plan {
            points: vec![slow.clone(), fast],
        });
        assert_eq!(est.points, 2);
        assert_eq!(est.capped, 1);
        assert!(close(est.duration.as_secs_f64(), 0.3 + 120.0 + 0.3 + 0.25));
        let empty = estimate(&Plan { points: vec![] });
        assert_eq!(
            (empty.points, empty.duration, empty.capped),
            (0, Duration::ZERO, 0)
        );
    }

    #[test]
    fn estimate_of_a_loaded_plan() {
        let plan = scenario("\"edge-1c\"", 7).plan();
        let est = estimate(&plan);
        assert_eq!(est.points, 24);
        // a: 500 tasks of 0.1 ms cpu on 1 core: 0.05 s; b: 1.5 s each.
        let expected = 24.0 * 0.3 + 12.0 * 0.05 + 12.0 * 1.5;
        assert!(close(est.duration.as_secs_f64(), expected), "{:?}", est);
    }
}

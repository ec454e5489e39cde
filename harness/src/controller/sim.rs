//! A tiny deterministic workload simulator for controller tests (test-only).
//!
//! Throughput comes from exact mean-value analysis (MVA) of a closed queueing network: N
//! threads cycle through the interpreter lock (one server, demand = Python CPU time, GIL
//! runtimes only), the CPUs (`cores` servers, Seidmann's approximation) and an I/O delay.
//! On top, a "cliff": past the knee N* = X_max * W0, throughput loses `cliff` per doubling
//! of N (switching and cache costs), and that lost time is reported as waiting at the
//! bottleneck. From the model the simulator reports what the harness measures: completed
//! tasks, beta = 1 - cpu/wall, lock-wait and run-queue shares, CPU utilisation, with
//! deterministic noise and a linear ramp of one task wall time after each resize.

use super::{Controller, Sample};

pub const N_LIMIT: usize = 2048;

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    /// Python CPU time per task (holds the lock under a GIL).
    pub cpu_s: f64,
    /// Native CPU time per task (releases the lock).
    pub native_s: f64,
    pub io_s: f64,
    pub cores: u32,
    pub gil: bool,
    /// Throughput lost per doubling of N past the knee.
    pub cliff: f64,
    /// Uniform relative noise on completions and on the measured shares.
    pub noise: f64,
    /// Arrival rate; None: an unbounded backlog.
    pub demand_tps: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Point {
    pub tps: f64,
    pub beta: f64,
    pub lock: f64,
    pub runq: f64,
    pub cpu_util: f64,
}

pub struct Model {
    pub w: Workload,
    /// Index n = threads; index 0 unused.
    pub points: Vec<Point>,
}

#[derive(Clone, Copy, PartialEq)]
enum Label {
    Lock,
    Runq,
}

impl Model {
    pub fn new(w: Workload) -> Self {
        let c = f64::from(w.cores.max(1));
        // (queueing demand, label); Seidmann: a c-server station of demand D is a queue of
        // D/c plus a pure delay of D(c-1)/c.
        let mut stations: Vec<(f64, Label)> = Vec::new();
        let mut delay = w.io_s;
        let mut add = |d: f64, servers: f64, label| {
            if d > 0.0 {
                stations.push((d / servers, label));
                delay += d * (servers - 1.0) / servers;
            }
        };
        if w.gil && w.cores <= 1 {
            add(w.cpu_s + w.native_s, 1.0, Label::Lock);
        } else if w.gil {
            add(w.cpu_s, 1.0, Label::Lock);
            add(w.native_s, c, Label::Runq);
        } else {
            add(w.cpu_s + w.native_s, c, Label::Runq);
        }
        let service = w.cpu_s + w.native_s + w.io_s;
        let x_max = 1.0 / stations.iter().map(|s| s.0).fold(1e-12, f64::max);
        let knee = x_max * service;
        let bottleneck = stations
            .iter()
            .copied()
            .fold((0.0, Label::Lock), |a, s| if s.0 > a.0 { s } else { a })
            .1;
        let mut q = vec![0.0; stations.len()];
        let mut points = vec![Point::default(); N_LIMIT + 1];
        for (n, point) in points.iter_mut().enumerate().skip(1) {
            let r: Vec<f64> = stations
                .iter()
                .zip(&q)
                .map(|(s, q)| s.0 * (1.0 + q))
                .collect();
            let x_mva = n as f64 / (delay + r.iter().sum::<f64>());
            for (qk, rk) in q.iter_mut().zip(&r) {
                *qk = x_mva * rk;
            }
            let nf = n as f64;
            let tps = x_mva * (1.0 - w.cliff).powf((nf / knee).log2().max(0.0));
            let wall = nf / tps;
            let (mut lock, mut runq) = (0.0, 0.0);
            for (s, rk) in stations.iter().zip(&r) {
                let wait = rk - s.0;
                if s.1 == Label::Lock {
                    lock += wait
                } else {
                    runq += wait
                }
            }
            let extra = wall - nf / x_mva;
            if bottleneck == Label::Lock {
                lock += extra
            } else {
                runq += extra
            }
            *point = Point {
                tps,
                beta: 1.0 - (w.cpu_s + w.native_s) / wall,
                lock: lock / wall,
                runq: runq / wall,
                cpu_util: (tps * (w.cpu_s + w.native_s) / c).min(1.0),
            };
        }
        Self { w, points }
    }

    pub fn at(&self, n: u32) -> Point {
        self.points[(n as usize).clamp(1, N_LIMIT)]
    }

    /// The best fixed pool over 1..=N_LIMIT threads: (N, tasks/s).
    pub fn optimum(&self) -> (u32, f64) {
        (1..=N_LIMIT as u32)
            .map(|n| (n, self.at(n).tps))
            .fold((1, 0.0), |a, b| if b.1 > a.1 { b } else { a })
    }
}

/// What a controller did in a simulated run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub n_opt: u32,
    pub tps_opt: f64,
    /// (end of interval in s, threads during it, model tasks/s at those threads).
    pub trace: Vec<(f64, u32, f64)>,
    pub vetoes: u32,
    pub final_n: u32,
}

impl Outcome {
    /// First time the pool ran at >= `eff` of the optimum (seconds, intervals).
    pub fn reach(&self, eff: f64) -> Option<(f64, usize)> {
        self.trace
            .iter()
            .position(|e| e.2 >= eff * self.tps_opt)
            .map(|i| (self.trace[i].0, i + 1))
    }

    /// Mean efficiency (model throughput / optimum) over the runs' intervals after `from_s`,
    /// probes included.
    pub fn efficiency_after(&self, from_s: f64) -> f64 {
        let tail: Vec<f64> = self
            .trace
            .iter()
            .filter(|e| e.0 > from_s)
            .map(|e| e.2)
            .collect();
        tail.iter().sum::<f64>() / tail.len().max(1) as f64 / self.tps_opt
    }
}

struct Lcg(u64);
impl Lcg {
    /// Uniform in -1..1.
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

pub fn run(model: &Model, c: &mut dyn Controller, duration_s: f64) -> Outcome {
    let w = model.w;
    let (n_opt, tps_opt) = model.optimum();
    let mut rng = Lcg(0x9e37_79b9_7f4a_7c15);
    let mut n = c.initial_threads(w.cores).clamp(1, N_LIMIT as u32);
    let (mut t, mut carry) = (0.0f64, 0.0f64);
    let (mut change_t, mut tps_before) = (0.0f64, 0.0f64);
    let mut trace = Vec::new();
    let mut vetoes = 0;
    while t < duration_s {
        let dt = c.interval_s();
        let p = model.at(n);
        let ramp_s = f64::from(n) / p.tps;
        // Mean of the linear ramp from tps_before to p.tps over [t, t + dt].
        let mut tps = 0.0;
        for k in 0..16 {
            let tk = t + dt * (f64::from(k) + 0.5) / 16.0;
            let f = ((tk - change_t) / ramp_s).clamp(0.0, 1.0);
            tps += (tps_before + (p.tps - tps_before) * f) / 16.0;
        }
        let served = w.demand_tps.map_or(tps, |d| d.min(tps));
        let queue_len = if w.demand_tps.is_some_and(|d| d < tps) {
            0
        } else {
            10_000
        };
        let exact = served * dt * (1.0 + w.noise * rng.next()) + carry;
        let completed = exact.max(0.0).floor();
        carry = exact - completed;
        // Measured shares carry relative error (a mean over many tasks), beta on its CPU part.
        let mut jitter = |x: f64| Some((x * (1.0 + w.noise * rng.next())).clamp(0.0, 1.0));
        let some = completed > 0.0;
        let cpu_share = jitter(1.0 - p.beta).unwrap_or(0.0);
        let s = Sample {
            t_s: t + dt,
            interval_s: dt,
            threads: n,
            queue_len,
            completed: completed as u64,
            beta: some.then_some(1.0 - cpu_share),
            lock_wait_frac: if some { jitter(p.lock) } else { None },
            runq_wait_frac: if some { jitter(p.runq) } else { None },
            cpu_util: p.cpu_util * served / p.tps,
            cores: w.cores,
            memory_frac: None,
        };
        let step = c.decide(&s);
        vetoes = step.vetoes;
        t += dt;
        trace.push((t, n, p.tps));
        let next = step.target.clamp(1, N_LIMIT as u32);
        if next != n {
            tps_before = tps;
            change_t = t;
            n = next;
        }
    }
    Outcome {
        n_opt,
        tps_opt,
        trace,
        vetoes,
        final_n: n,
    }
}

/// The workload cases the controllers are held against.
pub fn cases() -> Vec<Workload> {
    let base = Workload {
        name: "",
        cpu_s: 0.0,
        native_s: 0.0,
        io_s: 0.0,
        cores: 1,
        gil: true,
        cliff: 0.05,
        noise: 0.02,
        demand_tps: None,
    };
    vec![
        Workload {
            name: "io-heavy-gil-1c",
            cpu_s: 0.1 / 256.0,
            io_s: 0.1,
            ..base
        },
        Workload {
            name: "io-heavy-ft-4c",
            cpu_s: 0.0015,
            io_s: 0.1,
            cores: 4,
            gil: false,
            cliff: 0.03,
            ..base
        },
        Workload {
            name: "cpu-gil-1c",
            cpu_s: 0.01,
            ..base
        },
        Workload {
            name: "cpu-gil-4c",
            cpu_s: 0.01,
            cores: 4,
            ..base
        },
        Workload {
            name: "cpu-ft-4c",
            cpu_s: 0.01,
            cores: 4,
            gil: false,
            cliff: 0.03,
            ..base
        },
        Workload {
            name: "mixed-gil-1c",
            cpu_s: 0.002,
            io_s: 0.062,
            ..base
        },
        Workload {
            name: "mixed-ft-4c",
            cpu_s: 0.01,
            io_s: 0.07,
            cores: 4,
            gil: false,
            cliff: 0.03,
            ..base
        },
        Workload {
            name: "native-gil-4c",
            cpu_s: 0.0005,
            native_s: 0.01,
            cores: 4,
            ..base
        },
        Workload {
            name: "native-io-gil-4c",
            cpu_s: 0.0005,
            native_s: 0.008,
            io_s: 0.02,
            cores: 4,
            ..base
        },
        Workload {
            name: "long-tasks-gil-1c",
            cpu_s: 0.005,
            io_s: 2.0,
            ..base
        },
    ]
}

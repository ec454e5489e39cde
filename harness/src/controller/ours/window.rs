//! One measurement window of `adaptive` and what it yields: the sums over its intervals,
//! the throughput and waits measured at one N, and a pooled estimate per N.

/// Sums over the intervals of one measurement window at a fixed N.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Window {
    pub(super) completed: u64,
    pub(super) time_s: f64,
    pub(super) beta: Wsum,
    pub(super) wait: Wsum,
    /// Lock-wait share alone (the part of `wait` that more threads can only make worse).
    pub(super) lock: Wsum,
    /// CPU utilisation of the cores the point has, time-weighted.
    pub(super) cpu: Wsum,
    /// Interval throughputs, for the window's own noise.
    pub(super) rates: Moments,
    /// Tasks after which the window closes (0: not set yet; raised when inconclusive).
    pub(super) need: u64,
}

/// Count, sum and sum of squares of interval throughputs.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Moments {
    pub(super) k: u32,
    pub(super) sum: f64,
    pub(super) sq: f64,
}

impl Moments {
    pub(super) fn add(&mut self, x: f64) {
        self.k += 1;
        self.sum += x;
        self.sq += x * x;
    }
}

impl Window {
    pub(super) fn meas(&self, n: u32) -> Meas {
        let tps = self.completed as f64 / self.time_s;
        Meas {
            n,
            tps,
            se: self.se(tps),
            beta: self.beta.mean(),
            wait: self.wait.mean().unwrap_or(0.0),
            lock: self.lock.mean().unwrap_or(0.0),
            cpu_util: self.cpu.mean(),
        }
    }

    /// Standard error of the window's throughput `tps`: the spread of its interval
    /// throughputs over sqrt(k). Completions in a closed loop are far more regular than
    /// Poisson, so counting noise (1/sqrt(n)) would be several times too pessimistic; with
    /// fewer than 3 intervals there is no spread to go by and the Poisson bound is used.
    pub(super) fn se(&self, tps: f64) -> f64 {
        let m = self.rates;
        let poisson = tps / (self.completed.max(1) as f64).sqrt();
        if m.k < 3 {
            return poisson;
        }
        let k = f64::from(m.k);
        let var = ((m.sq - m.sum * m.sum / k) / (k - 1.0)).max(0.0);
        // Floor at a quarter of the Poisson bound: a few identical intervals are not proof
        // of a noiseless window.
        (var / k).sqrt().max(poisson * 0.25)
    }
}

/// A task-weighted running mean.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Wsum {
    pub(super) sum: f64,
    pub(super) weight: f64,
}

impl Wsum {
    pub(super) fn add(&mut self, x: Option<f64>, w: f64) {
        if let Some(x) = x {
            self.sum += x * w;
            self.weight += w;
        }
    }
    pub(super) fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// One closed window: throughput and its decomposition at N threads.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meas {
    pub(super) n: u32,
    pub(super) tps: f64,
    /// Standard error of `tps`.
    pub(super) se: f64,
    pub(super) beta: Option<f64>,
    /// lock + run-queue wait share (0 when not measured).
    pub(super) wait: f64,
    /// Lock-wait share alone.
    pub(super) lock: f64,
    pub(super) cpu_util: Option<f64>,
}

/// A throughput estimate at one N and its standard error.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Est {
    pub(super) tps: f64,
    pub(super) se: f64,
}

impl Est {
    /// Pools a new window into this estimate by inverse variance, the new one weighing at
    /// least `floor`.
    pub(super) fn pool(self, new: Est, floor: f64) -> Est {
        let (v0, v1) = (self.se * self.se, new.se * new.se);
        let a = if v0 + v1 > 0.0 { v0 / (v0 + v1) } else { 0.5 };
        let a = a.max(floor).min(1.0);
        Est {
            tps: a * new.tps + (1.0 - a) * self.tps,
            se: (a * a * v1 + (1.0 - a) * (1.0 - a) * v0).sqrt(),
        }
    }
}

//! The rule of the `betapool` 1.0.x library, as PAPER.md gives it: every 0.5 s, after 10
//! warm-up tasks and at most one change per 2 s stabilisation window:
//! beta > 0.7 and CPU < 85 % -> +2; beta < 0.3 -> -1; CPU > 85 % -> -1; otherwise hold.
//!
//! Choices where PAPER.md is silent:
//! - Bounds: the paper's N_min = 4, N_max = 128 (PAPER.md gives none for the library).
//!   Starts at N_min.
//! - beta is the interval's value, not smoothed (the rule names no EWMA); `Step::beta_ewma`
//!   carries the beta the rule used. With no task completed (beta None) only the CPU rule
//!   can fire; with an unusable cpu_util (NaN) only the beta rules can.
//! - The rules are tried in the order given; the first that matches wins.
//! - Warm-up counts completed tasks cumulatively from the first sample; Decision::Warmup.
//! - The window is timed by the sum of `interval_s` (not `t_s`), so it does not depend on
//!   where the caller's clock starts. The first change after warm-up is always allowed; a
//!   change is allowed again once 2 s have passed since the last one. A rule that would
//!   change N but is blocked by the window, or by a bound, reports Hold and does not restart
//!   the window.
//! - The library has no veto: a low beta shrinks the pool (Shrink), so `vetoes` stays 0.
//! - The queue length is not part of the rule and is ignored.

use super::{
    bounds, check, frac, Controller, ControllerSpec, Decision, InvalidParams, Sample, Step,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BetapoolParams {
    pub n_min: u32,
    pub n_max: u32,
    pub interval_s: f64,
    pub warmup_tasks: u64,
    pub stabilization_s: f64,
    pub beta_high: f64,
    pub beta_low: f64,
    /// CPU utilisation (0..=1) above which the pool shrinks and below which it may grow.
    pub cpu_high: f64,
    pub grow_step: u32,
    pub shrink_step: u32,
}

impl Default for BetapoolParams {
    fn default() -> Self {
        Self {
            n_min: 4,
            n_max: 128,
            interval_s: 0.5,
            warmup_tasks: 10,
            stabilization_s: 2.0,
            beta_high: 0.7,
            beta_low: 0.3,
            cpu_high: 0.85,
            grow_step: 2,
            shrink_step: 1,
        }
    }
}

impl BetapoolParams {
    pub fn validate(&self) -> Result<(), InvalidParams> {
        let c = "adaptive-betapool";
        check(self.n_min >= 1, c, "n_min", ">= 1")?;
        check(self.n_max >= self.n_min, c, "n_max", ">= n_min")?;
        check(
            self.interval_s > 0.0 && self.interval_s.is_finite(),
            c,
            "interval_s",
            "> 0",
        )?;
        check(self.stabilization_s >= 0.0, c, "stabilization_s", ">= 0")?;
        check(
            (0.0..=1.0).contains(&self.beta_high),
            c,
            "beta_high",
            "in 0..=1",
        )?;
        check(
            (0.0..=1.0).contains(&self.beta_low) && self.beta_low <= self.beta_high,
            c,
            "beta_low",
            "in 0..=1 and <= beta_high",
        )?;
        check(
            (0.0..=1.0).contains(&self.cpu_high),
            c,
            "cpu_high",
            "in 0..=1",
        )?;
        check(self.grow_step >= 1, c, "grow_step", ">= 1")?;
        check(self.shrink_step >= 1, c, "shrink_step", ">= 1")
    }
}

#[derive(Debug, Clone)]
pub struct BetapoolController {
    p: BetapoolParams,
    n: u32,
    completed: u64,
    clock_s: f64,
    last_change_s: Option<f64>,
}

impl BetapoolController {
    pub fn new(p: BetapoolParams) -> Self {
        let n = bounds(p.n_min, p.n_max).0;
        Self {
            p,
            n,
            completed: 0,
            clock_s: 0.0,
            last_change_s: None,
        }
    }
}

impl Controller for BetapoolController {
    fn name(&self) -> &'static str {
        "adaptive-betapool"
    }

    fn initial_threads(&self, _cores: u32) -> u32 {
        bounds(self.p.n_min, self.p.n_max).0
    }

    fn interval_s(&self) -> f64 {
        self.p.interval_s
    }

    fn decide(&mut self, s: &Sample) -> Step {
        let (lo, hi) = bounds(self.p.n_min, self.p.n_max);
        if s.interval_s.is_finite() && s.interval_s > 0.0 {
            self.clock_s += s.interval_s;
        }
        self.completed = self.completed.saturating_add(s.completed);
        let beta = frac(s.beta);
        let step = |n: u32, decision| Step {
            target: n,
            decision,
            beta_ewma: beta,
            vetoes: 0,
        };
        if self.completed < self.p.warmup_tasks {
            return step(self.n, Decision::Warmup);
        }
        let cpu = frac(Some(s.cpu_util));
        let wanted = match (beta, cpu) {
            (Some(b), Some(c)) if b > self.p.beta_high && c < self.p.cpu_high => {
                self.n.saturating_add(self.p.grow_step)
            }
            (Some(b), _) if b < self.p.beta_low => self.n.saturating_sub(self.p.shrink_step),
            (_, Some(c)) if c > self.p.cpu_high => self.n.saturating_sub(self.p.shrink_step),
            _ => self.n,
        }
        .clamp(lo, hi);
        let window_open = self
            .last_change_s
            .is_none_or(|t| self.clock_s - t >= self.p.stabilization_s - 1e-9);
        if wanted == self.n || !window_open {
            return step(self.n, Decision::Hold);
        }
        let decision = if wanted > self.n {
            Decision::Grow
        } else {
            Decision::Shrink
        };
        self.n = wanted;
        self.last_change_s = Some(self.clock_s);
        step(self.n, decision)
    }

    fn spec(&self) -> ControllerSpec {
        ControllerSpec::Betapool(self.p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(completed: u64, beta: Option<f64>, cpu_util: f64) -> Sample {
        Sample {
            t_s: 0.0,
            interval_s: 0.5,
            threads: 4,
            queue_len: 100,
            completed,
            beta,
            lock_wait_frac: None,
            runq_wait_frac: None,
            cpu_util,
            cores: 1,
            memory_frac: None,
        }
    }

    fn ctl() -> BetapoolController {
        BetapoolController::new(BetapoolParams::default())
    }

    #[test]
    fn warmup_holds_until_ten_tasks() {
        let mut c = ctl();
        assert_eq!(c.initial_threads(4), 4);
        for _ in 0..3 {
            let s = c.decide(&sample(3, Some(0.9), 0.1));
            assert_eq!((s.target, s.decision), (4, Decision::Warmup));
        }
        // 12 cumulative tasks: the rule runs.
        let s = c.decide(&sample(3, Some(0.9), 0.1));
        assert_eq!((s.target, s.decision), (6, Decision::Grow));
    }

    #[test]
    fn each_rule() {
        let mut c = ctl();
        assert_eq!(c.decide(&sample(20, Some(0.9), 0.5)).target, 6); // +2
        let mut c = ctl();
        c.n = 10;
        let s = c.decide(&sample(20, Some(0.2), 0.5));
        assert_eq!((s.target, s.decision, s.vetoes), (9, Decision::Shrink, 0)); // low beta
        let mut c = ctl();
        c.n = 10;
        assert_eq!(c.decide(&sample(20, Some(0.9), 0.95)).target, 9); // high beta, CPU busy
        let mut c = ctl();
        c.n = 10;
        assert_eq!(c.decide(&sample(20, Some(0.5), 0.95)).target, 9); // mid beta, CPU busy
        let mut c = ctl();
        c.n = 10;
        let s = c.decide(&sample(20, Some(0.5), 0.5));
        assert_eq!((s.target, s.decision), (10, Decision::Hold)); // neither
                                                                  // No completed task: only the CPU rule can fire.
        let mut c = ctl();
        c.completed = 100;
        c.n = 10;
        assert_eq!(c.decide(&sample(0, None, 0.5)).target, 10);
        assert_eq!(c.decide(&sample(0, None, 0.95)).target, 9);
    }

    #[test]
    fn stabilisation_window_blocks_a_second_change_within_two_seconds() {
        let mut c = ctl();
        let t: Vec<u32> = (0..9)
            .map(|_| c.decide(&sample(20, Some(0.9), 0.1)).target)
            .collect();
        // Changes at 0.5 s, 2.5 s and 4.5 s of accumulated interval time.
        assert_eq!(t, [6, 6, 6, 6, 8, 8, 8, 8, 10]);
        // A blocked shrink does not restart the window either.
        let mut c = ctl();
        c.decide(&sample(20, Some(0.9), 0.1)); // 6 at 0.5 s
        assert_eq!(
            c.decide(&sample(20, Some(0.1), 0.1)).decision,
            Decision::Hold
        );
        c.decide(&sample(20, Some(0.5), 0.1));
        c.decide(&sample(20, Some(0.5), 0.1));
        assert_eq!(c.decide(&sample(20, Some(0.1), 0.1)).target, 5); // 2.5 s
    }

    #[test]
    fn bounds_hold() {
        let mut c = ctl();
        for _ in 0..400 {
            assert!(c.decide(&sample(20, Some(0.99), 0.1)).target <= 128);
        }
        assert_eq!(c.n, 128);
        for _ in 0..1000 {
            assert!(c.decide(&sample(20, Some(0.0), 1.0)).target >= 4);
        }
        assert_eq!(c.n, 4);
        let s = c.decide(&sample(20, Some(0.0), 1.0));
        assert_eq!(s.decision, Decision::Hold);
    }
}

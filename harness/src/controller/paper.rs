//! The paper's controller (Algorithm 1), exactly as PAPER.md gives it.
//!
//! Ambiguities resolved (the paper does not say):
//! - No task completed in the interval (`beta` is None, or NaN): the EWMA is left unchanged,
//!   rather than fed a 0 or a 1 that nobody measured. The rest of the step runs as usual.
//! - N is the controller's own target, not the pool's current size: the algorithm keeps N
//!   as state and the pool may lag behind it.
//! - An empty queue does not reset `c_up` (Algorithm 1 resets it only on a veto or a grow).
//! - `beta_ewma == beta_thresh` is a veto (the algorithm grows only on `>`).
//! - At N_max, the H-th high-beta interval still resets `c_up` and reports Hold.
//! - A queue of 0 with N already at N_min reports Hold.

use super::{
    bounds, check, frac, Controller, ControllerSpec, Decision, InvalidParams, Sample, Step,
};
use serde::{Deserialize, Serialize};

/// Parameters of Algorithm 1; defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaperParams {
    pub n_min: u32,
    pub n_max: u32,
    pub beta_thresh: f64,
    /// EWMA weight of the new sample.
    pub alpha: f64,
    /// Hysteresis: consecutive high-beta intervals with a queue before one grow.
    pub hysteresis: u32,
    pub interval_s: f64,
    pub step: u32,
    /// Initial value of the EWMA.
    pub beta_init: f64,
}

impl Default for PaperParams {
    fn default() -> Self {
        Self {
            n_min: 4,
            n_max: 128,
            beta_thresh: 0.3,
            alpha: 0.2,
            hysteresis: 3,
            interval_s: 0.5,
            step: 1,
            beta_init: 0.5,
        }
    }
}

impl PaperParams {
    pub fn validate(&self) -> Result<(), InvalidParams> {
        let c = "adaptive-paper";
        check(self.n_min >= 1, c, "n_min", ">= 1")?;
        check(self.n_max >= self.n_min, c, "n_max", ">= n_min")?;
        check(
            (0.0..=1.0).contains(&self.beta_thresh),
            c,
            "beta_thresh",
            "in 0..=1",
        )?;
        check(
            self.alpha > 0.0 && self.alpha <= 1.0,
            c,
            "alpha",
            "in (0, 1]",
        )?;
        check(self.hysteresis >= 1, c, "hysteresis", ">= 1")?;
        check(
            self.interval_s > 0.0 && self.interval_s.is_finite(),
            c,
            "interval_s",
            "> 0",
        )?;
        check(self.step >= 1, c, "step", ">= 1")?;
        check(
            (0.0..=1.0).contains(&self.beta_init),
            c,
            "beta_init",
            "in 0..=1",
        )
    }
}

#[derive(Debug, Clone)]
pub struct PaperController {
    p: PaperParams,
    n: u32,
    beta_ewma: f64,
    c_up: u32,
    vetoes: u32,
}

impl PaperController {
    pub fn new(p: PaperParams) -> Self {
        let (lo, _) = bounds(p.n_min, p.n_max);
        let beta_ewma = frac(Some(p.beta_init)).unwrap_or(0.5);
        Self {
            n: lo,
            beta_ewma,
            c_up: 0,
            vetoes: 0,
            p,
        }
    }
}

impl Controller for PaperController {
    fn name(&self) -> &'static str {
        "adaptive-paper"
    }

    fn initial_threads(&self, _cores: u32) -> u32 {
        bounds(self.p.n_min, self.p.n_max).0
    }

    fn interval_s(&self) -> f64 {
        self.p.interval_s
    }

    fn decide(&mut self, s: &Sample) -> Step {
        let (lo, hi) = bounds(self.p.n_min, self.p.n_max);
        let alpha = self.p.alpha.clamp(0.0, 1.0);
        if let Some(b) = frac(s.beta) {
            self.beta_ewma = alpha * b + (1.0 - alpha) * self.beta_ewma;
        }
        let mut decision = Decision::Hold;
        if s.queue_len > 0 {
            if self.beta_ewma > self.p.beta_thresh {
                self.c_up += 1;
                if self.c_up >= self.p.hysteresis {
                    let next = self.n.saturating_add(self.p.step.max(1)).min(hi);
                    if next > self.n {
                        decision = Decision::Grow;
                    }
                    self.n = next;
                    self.c_up = 0;
                }
            } else {
                decision = Decision::Veto;
                self.vetoes = self.vetoes.saturating_add(1);
                self.c_up = 0;
            }
        } else if self.n > lo {
            self.n = self.n.saturating_sub(1).max(lo);
            decision = Decision::Shrink;
        }
        Step {
            target: self.n,
            decision,
            beta_ewma: Some(self.beta_ewma),
            vetoes: self.vetoes,
        }
    }

    fn spec(&self) -> ControllerSpec {
        ControllerSpec::Paper(self.p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(queue_len: usize, beta: Option<f64>) -> Sample {
        Sample {
            t_s: 0.0,
            interval_s: 0.5,
            threads: 4,
            queue_len,
            completed: 10,
            beta,
            lock_wait_frac: None,
            runq_wait_frac: None,
            cpu_util: 0.5,
            cores: 1,
            memory_frac: None,
        }
    }

    fn ctl() -> PaperController {
        PaperController::new(PaperParams::default())
    }

    #[test]
    fn ewma_arithmetic_is_exact() {
        let mut c = ctl();
        let s = c.decide(&sample(10, Some(0.9)));
        assert!((s.beta_ewma.unwrap() - 0.58).abs() < 1e-12); // 0.2*0.9 + 0.8*0.5
        let s = c.decide(&sample(10, Some(0.1)));
        assert!((s.beta_ewma.unwrap() - (0.2 * 0.1 + 0.8 * 0.58)).abs() < 1e-12);
        // No completed task: the EWMA stays where it was.
        let before = s.beta_ewma;
        assert_eq!(c.decide(&sample(10, None)).beta_ewma, before);
        assert_eq!(c.decide(&sample(10, Some(f64::NAN))).beta_ewma, before);
    }

    #[test]
    fn grows_only_on_the_hth_high_interval_with_a_queue() {
        let mut c = ctl();
        assert_eq!(c.initial_threads(4), 4);
        let d: Vec<_> = (0..6).map(|_| c.decide(&sample(100, Some(0.9)))).collect();
        let targets: Vec<u32> = d.iter().map(|s| s.target).collect();
        assert_eq!(targets, [4, 4, 5, 5, 5, 6]);
        assert_eq!(d[2].decision, Decision::Grow);
        assert_eq!(d[1].decision, Decision::Hold);
        assert_eq!(d[5].vetoes, 0);
    }

    #[test]
    fn veto_below_threshold_counts_and_resets_hysteresis() {
        let mut c = ctl();
        // Two high intervals build c_up to 2 ...
        c.decide(&sample(100, Some(0.9)));
        c.decide(&sample(100, Some(0.9)));
        assert_eq!(c.c_up, 2);
        // ... a very low beta drags the EWMA under 0.3: veto, counted, c_up back to 0.
        let mut vetoes = 0;
        loop {
            let s = c.decide(&sample(100, Some(0.0)));
            if s.decision == Decision::Veto {
                vetoes += 1;
                assert_eq!(s.vetoes, vetoes);
                assert_eq!(s.target, c.n, "a veto never changes N");
                assert_eq!(c.c_up, 0);
                break;
            }
            assert!(s.beta_ewma.unwrap() > 0.3);
        }
        let s = c.decide(&sample(100, Some(0.0)));
        assert_eq!((s.decision, s.vetoes), (Decision::Veto, 2));
        // Exactly at the threshold is a veto too.
        let mut c = PaperController::new(PaperParams {
            beta_init: 0.3,
            ..Default::default()
        });
        assert_eq!(c.decide(&sample(1, None)).decision, Decision::Veto);
    }

    #[test]
    fn counter_restarts_after_veto() {
        let mut c = PaperController::new(PaperParams {
            alpha: 1.0,
            ..Default::default()
        });
        c.decide(&sample(1, Some(0.9)));
        c.decide(&sample(1, Some(0.9)));
        c.decide(&sample(1, Some(0.1))); // veto
                                         // Needs three fresh high intervals again.
        assert_eq!(c.decide(&sample(1, Some(0.9))).target, 4);
        assert_eq!(c.decide(&sample(1, Some(0.9))).target, 4);
        assert_eq!(c.decide(&sample(1, Some(0.9))).target, 5);
    }

    #[test]
    fn shrinks_by_one_on_empty_queue_never_below_min() {
        let mut c = PaperController::new(PaperParams {
            alpha: 1.0,
            hysteresis: 1,
            ..Default::default()
        });
        for _ in 0..3 {
            c.decide(&sample(5, Some(0.9)));
        }
        assert_eq!(c.n, 7);
        let t: Vec<u32> = (0..5)
            .map(|_| c.decide(&sample(0, Some(0.9))).target)
            .collect();
        assert_eq!(t, [6, 5, 4, 4, 4]);
        assert_eq!(c.decide(&sample(0, Some(0.9))).decision, Decision::Hold);
    }

    #[test]
    fn never_above_max() {
        let mut c = PaperController::new(PaperParams {
            alpha: 1.0,
            hysteresis: 1,
            ..Default::default()
        });
        let mut last = c.decide(&sample(5, Some(0.9)));
        for _ in 0..500 {
            last = c.decide(&sample(5, Some(0.9)));
            assert!(last.target <= 128);
        }
        assert_eq!(last.target, 128);
        assert_eq!(last.decision, Decision::Hold);
    }
}

//! The queue-depth scaler, the paper's foil: it grows the pool while tasks wait and shrinks
//! it when the queue stays empty; it never looks at the blocking ratio. The paper gives no
//! rule beyond "[4, 256]"; ours: every interval, a non-empty queue of Q tasks adds
//! ceil(Q / 2) threads (demand-tracking, as autoscalers on queue depth do), and two empty
//! intervals in a row remove one.

use serde::{Deserialize, Serialize};

use super::{check, Controller, ControllerSpec, Decision, InvalidParams, Sample, Step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueParams {
    pub n_min: u32,
    pub n_max: u32,
    pub interval_s: f64,
}

impl Default for QueueParams {
    fn default() -> Self {
        QueueParams { n_min: 4, n_max: 256, interval_s: 0.5 }
    }
}

impl QueueParams {
    pub fn validate(&self) -> Result<(), InvalidParams> {
        check(self.n_min >= 1, "queue-scaler", "n_min", "at least 1")?;
        check(self.n_max >= self.n_min, "queue-scaler", "n_max", "at least n_min")?;
        check(self.interval_s > 0.0, "queue-scaler", "interval_s", "greater than 0")
    }
}

#[derive(Debug, Clone)]
pub struct QueueScaler {
    p: QueueParams,
    n: u32,
    empty: u32,
}

impl QueueScaler {
    pub fn new(p: QueueParams) -> Self {
        let n = p.n_min.max(1);
        QueueScaler { p, n, empty: 0 }
    }
}

impl Controller for QueueScaler {
    fn name(&self) -> &'static str {
        "queue-scaler"
    }

    fn initial_threads(&self, _cores: u32) -> u32 {
        self.n
    }

    fn interval_s(&self) -> f64 {
        self.p.interval_s
    }

    fn spec(&self) -> ControllerSpec {
        ControllerSpec::Queue(self.p.clone())
    }

    fn decide(&mut self, s: &Sample) -> Step {
        let (lo, hi) = (self.p.n_min.max(1), self.p.n_max.max(self.p.n_min.max(1)));
        let decision = if s.queue_len > 0 {
            self.empty = 0;
            let add = u32::try_from(s.queue_len.div_ceil(2)).unwrap_or(u32::MAX);
            let next = self.n.saturating_add(add).min(hi);
            let d = if next > self.n { Decision::Grow } else { Decision::Hold };
            self.n = next;
            d
        } else {
            self.empty += 1;
            if self.empty >= 2 && self.n > lo {
                self.n -= 1;
                self.empty = 0;
                Decision::Shrink
            } else {
                Decision::Hold
            }
        };
        Step { target: self.n, decision, beta_ewma: None, vetoes: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(queue_len: usize) -> Sample {
        Sample {
            t_s: 0.0,
            interval_s: 0.5,
            threads: 4,
            queue_len,
            completed: 10,
            beta: Some(0.1),
            lock_wait_frac: Some(0.5),
            runq_wait_frac: Some(0.2),
            cpu_util: 1.0,
            cores: 1,
            memory_frac: None,
        }
    }

    #[test]
    fn grows_with_the_queue_whatever_beta_says_and_shrinks_when_idle() {
        let mut q = QueueScaler::new(QueueParams::default());
        assert_eq!(q.initial_threads(1), 4);
        assert_eq!(q.decide(&sample(10)).target, 9);
        assert_eq!(q.decide(&sample(1000)).target, 256, "capped at n_max");
        assert_eq!(q.decide(&sample(0)).decision, Decision::Hold);
        let s = q.decide(&sample(0));
        assert_eq!((s.target, s.decision), (255, Decision::Shrink));
        for _ in 0..1000 {
            q.decide(&sample(0));
        }
        assert_eq!(q.decide(&sample(0)).target, 4, "never below n_min");
    }
}

//! Where `adaptive` goes next: probes up and down, the model-guided seek, the climb, and
//! what follows a rejected step or an idle queue.

use super::super::{frac, Decision, Sample};
use super::window::{Est, Meas};
use super::{halfway, Mode, OursController, Probe};

impl OursController {
    /// Where to probe below `from` (measured at `than`): a `probe_factor` step, or, when an
    /// N in that step was measured in this regime and lost to `than`, halfway (geometrically)
    /// between the largest such N and `from`; None when no thread count is left in between.
    /// Above the knee of a throughput curve every extra thread only queues (under a lock a
    /// task's wall time grows with N), so the smallest N within the margin of the best is the
    /// one to hold, and 1.5x steps are too coarse to find it (7 -> 11 threads is +57 % latency).
    pub(super) fn next_down(&self, from: u32, than: Est) -> Option<u32> {
        let step = self.down_from(from).max(self.bounds().0);
        let worse = self
            .table
            .iter()
            .filter(|e| e.0 >= step && e.0 < from && self.lost(e.1, than))
            .map(|e| e.0)
            .max();
        let n = match worse {
            None => step,
            Some(w) => halfway(w, from),
        };
        (n >= self.bounds().0 && n < from && worse.is_none_or(|w| n > w)).then_some(n)
    }

    pub(super) fn up_from(&self, n: u32) -> u32 {
        ((f64::from(n) * self.p.probe_factor).round() as u32).max(n.saturating_add(1))
    }

    pub(super) fn down_from(&self, n: u32) -> u32 {
        ((f64::from(n) / self.p.probe_factor).round() as u32).min(n.saturating_sub(1))
    }

    pub(super) fn start_probe(
        &mut self,
        n: u32,
        up: bool,
        seek: bool,
        base: &Meas,
        base_tps: Est,
    ) -> bool {
        if self.move_to(n) {
            self.probe = Some(Probe {
                base: base.n,
                base_tps,
                base_lock: base.lock,
                base_cpu: base.cpu_util,
                up,
                seek,
                stretched: false,
                leap: false,
                fallback: base.n,
                bisect: false,
                confirm: None,
            });
            true
        } else {
            false
        }
    }

    /// A rejected step up: back to the base, or straight past it downwards when the lock was
    /// the bottleneck at the base or throughput `fell`. Run-queue wait alone is no reason: on
    /// one core it is 0.6-0.85 at any N >= 4 (threads take turns on the core; fewer gain
    /// nothing), and every tied step up there walked the pool below its base (vision one
    /// core: 14 -> 6 from a base of 9; native-compute one core: 6 -> 3 from 4, 94 %).
    pub(super) fn reject_up(&mut self, pr: &Probe, fell: bool, model: Option<u32>) -> Decision {
        self.refuse(self.target);
        let lock_bound = pr.base_lock >= self.p.contention_low;
        let down = self.next_down(pr.base, pr.base_tps);
        if let Some(down) = down.filter(|_| !pr.seek && (lock_bound || fell)) {
            self.move_to(down);
            self.probe = Some(Probe {
                up: false,
                leap: false,
                bisect: false,
                ..*pr
            });
        } else {
            self.back_to_base(pr, model);
        }
        Decision::Veto
    }

    /// The pool leaves `n`, a step up, without keeping it.
    pub(super) fn refuse(&mut self, n: u32) {
        if !self.refused.contains(&n) {
            self.refused.push(n);
        }
    }

    /// Back to the probe's base: a failed seek goes on by small steps from there, a failed
    /// climb settles.
    pub(super) fn back_to_base(&mut self, pr: &Probe, model: Option<u32>) {
        self.move_to(pr.base);
        if pr.seek {
            self.mode = Mode::Climb;
        } else {
            self.settle(model);
        }
    }

    /// Climb from the current, measured N: up while allowed, else down while waiting.
    pub(super) fn climb(
        &mut self,
        m: &Meas,
        model: Option<u32>,
        tps: Est,
        queue: bool,
    ) -> Decision {
        let hi = self.bounds().1;
        self.mode = match self.mode {
            Mode::Settled { started_at, .. } => Mode::Settled {
                windows: 0,
                started_at,
            },
            _ => Mode::Climb,
        };
        let mut vetoed = false;
        if self.target < hi && queue {
            if self.may_grow(m) {
                let n = self.up_from(self.target);
                if self.start_probe(n, true, false, m, tps) {
                    return Decision::Grow;
                }
            } else {
                self.veto();
                vetoed = true;
            }
        }
        let down = self
            .next_down(self.target, tps)
            .filter(|_| m.wait >= self.p.contention_low);
        if let Some(n) = down {
            if self.start_probe(n, false, false, m, tps) {
                return if vetoed {
                    Decision::Veto
                } else {
                    Decision::Shrink
                };
            }
        }
        self.settle(model);
        if vetoed {
            Decision::Veto
        } else {
            Decision::Hold
        }
    }

    /// Model-guided move from the current, measured N.
    pub(super) fn seek(&mut self, m: &Meas, model: Option<u32>, tps: Est, queue: bool) -> Decision {
        let Some(nm) = model else {
            return self.climb(m, model, tps, queue);
        };
        let n = f64::from(self.target);
        let f = self.p.probe_factor;
        if f64::from(nm) >= n * f && queue && self.may_grow(m) {
            let to = f64::from(nm).min(n * self.p.max_jump).round() as u32;
            if self.start_probe(to, true, true, m, tps) {
                return Decision::Grow;
            }
        } else if f64::from(nm) <= n / f {
            let to = f64::from(nm).max(n / self.p.max_jump).round() as u32;
            if self.start_probe(to, false, true, m, tps) {
                return Decision::Shrink;
            }
        }
        self.climb(m, model, tps, queue)
    }

    /// Queue empty for a while: shrink towards the number of tasks in flight.
    pub(super) fn on_idle(&mut self, s: &Sample, beta: Option<f64>) -> Decision {
        let (lo, _) = self.bounds();
        let half = self.target.div_ceil(2).max(lo);
        let cpu_util = frac(Some(s.cpu_util));
        let busy = match (beta, cpu_util) {
            (Some(b), Some(u)) if b < 0.999 => Some(u * f64::from(s.cores.max(1)) / (1.0 - b)),
            _ => None,
        };
        let want = match busy {
            Some(b) => ((b * self.p.idle_headroom).ceil() as u32).max(half),
            None => half,
        };
        self.idle = 0;
        if want < self.target && self.move_to(want) {
            self.reset_regime();
            Decision::Shrink
        } else {
            Decision::Hold
        }
    }

    /// A window closed at a probe's N: keep the step, go further, halve it, look again, or
    /// go back (the rules 2-3 of the module docs).
    pub(super) fn after_probe(
        &mut self,
        pr: Probe,
        m: &Meas,
        tps: Est,
        model: Option<u32>,
        queue: bool,
    ) -> Decision {
        if let Some((step, step_tps)) = pr.confirm {
            return self.after_confirm(&pr, step, step_tps, m, model, queue);
        }
        let verdict = match self.verdict(&pr, tps) {
            Some(false) if self.slowed(&pr, m) => None,
            v => v,
        };
        if pr.leap && verdict != Some(true) {
            // No gain beyond the noise: back to where the steps had got to.
            self.veto();
            if pr.fallback == pr.base {
                return self.reject_up(&pr, false, model);
            }
            self.refuse(self.target);
            self.move_to(pr.fallback);
            self.settle(model);
            return Decision::Veto;
        }
        let small_gain = self.change(&pr, tps).is_some_and(|c| c.0 > 0.0);
        // Not from full cores: there a small point gain is noise, as in the tie rule, and
        // each step further only queues more threads for the cores (micro, one core
        // free-threaded: 7 -> 11 -> 17 -> 26 threads on ties, CPU 1.00 throughout, back
        // to 7 after 10 s; a steady P99 2.3x that of the best fixed pool).
        let may_go_on = verdict.is_none()
            && pr.up
            && !pr.seek
            && !pr.bisect
            && small_gain
            && !self.cores_full(pr.base_cpu)
            && self.lock_free(m)
            && queue
            && self.may_grow(m);
        // Two steps up that tied with a small gain: leap one step further with a longer
        // look, once per regime. Curves that rise by a per cent or two per step (more
        // threads filling the last idle CPU, native code on several cores) add up to
        // gains no single step can tell from the noise.
        if may_go_on && pr.stretched && !pr.leap && !self.leapt {
            let fallback = if self.tie_break(&pr, tps, m) {
                self.target
            } else {
                pr.base
            };
            if self.move_to(self.up_from(self.target)) {
                self.leapt = true;
                self.probe = Some(Probe {
                    leap: true,
                    fallback,
                    ..pr
                });
                return Decision::Grow;
            }
        }
        // Before the tie rule, which may keep a step into the lock on its CPU gain alone:
        // with a point gain too, halfway holds it with less latency.
        if let Some(mid) = self.knee(&pr, verdict, tps, m, queue) {
            self.veto();
            self.refuse(self.target);
            self.move_to(mid);
            self.probe = Some(Probe { bisect: true, ..pr });
            return Decision::Veto;
        }
        if verdict == Some(true) && self.must_confirm(&pr, m) {
            let step = self.target;
            self.move_to(pr.base);
            self.probe = Some(Probe {
                confirm: Some((step, tps)),
                ..pr
            });
            return Decision::Shrink;
        }
        let accepted = verdict.unwrap_or_else(|| self.tie_break(&pr, tps, m));
        if accepted {
            let kept = self.target;
            self.refused.retain(|n| *n != kept);
            return if pr.seek {
                self.seek(m, model, tps, queue)
            } else if pr.up {
                // Kept a gain; keep climbing up, or stop (never probe back below it).
                // Halfway to the lock is as far as it goes.
                if pr.bisect {
                    self.settle(model);
                    Decision::Hold
                } else if self.may_grow(m) && queue {
                    self.climb(m, model, tps, queue)
                } else {
                    self.veto();
                    self.settle(model);
                    Decision::Veto
                }
            } else if let Some(n) = self
                .next_down(self.target, tps)
                .filter(|_| m.wait >= self.p.contention_low)
            {
                if self.start_probe(n, false, false, m, tps) {
                    Decision::Shrink
                } else {
                    self.settle(model);
                    Decision::Hold
                }
            } else {
                self.settle(model);
                Decision::Hold
            };
        }
        // A climb that tied with a small gain: go one step further before giving up,
        // judged against the same base. Curves that keep rising a little per step
        // (native code on several cores) otherwise stop at the first step.
        if may_go_on && !pr.stretched && self.move_to(self.up_from(self.target)) {
            self.probe = Some(Probe {
                stretched: true,
                ..pr
            });
            return Decision::Grow;
        }
        if pr.up && verdict == Some(false) && self.may_recheck(&pr, m, queue) {
            // Judged again on a fresh window; this one is forgotten.
            self.rechecked = true;
            self.table.retain(|e| e.0 != m.n);
            self.probe = Some(pr);
            return Decision::Hold;
        }
        if pr.up {
            self.veto();
            return self.reject_up(&pr, verdict == Some(false), model);
        }
        self.back_to_base(&pr, model);
        Decision::Grow
    }

    /// The base measured again after a gain from full cores (`must_confirm`): the step is
    /// kept, and the climb or seek goes on from it, only if it still gains beyond the noise
    /// over the mean of the base's windows before and after it, in which a drift of the
    /// machine's speed cancels; else it is refused and the pool settles at the base.
    fn after_confirm(
        &mut self,
        pr: &Probe,
        step: u32,
        step_tps: Est,
        m: &Meas,
        model: Option<u32>,
        queue: bool,
    ) -> Decision {
        let (a, b) = (pr.base_tps, Est { tps: m.tps, se: m.se });
        let base = Est {
            tps: (a.tps + b.tps) / 2.0,
            se: (a.se * a.se + b.se * b.se).sqrt() / 2.0,
        };
        let gain = base.tps > 0.0 && step_tps.tps / base.tps - 1.0 > self.threshold(base, step_tps);
        if gain && queue && self.move_to(step) {
            self.refused.retain(|n| *n != step);
            self.mode = if pr.seek { Mode::Seek } else { Mode::Climb };
            return Decision::Grow;
        }
        self.veto();
        self.refuse(step);
        self.settle(model);
        Decision::Veto
    }
}

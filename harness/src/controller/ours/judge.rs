//! How `adaptive` judges a probe: the noise threshold, the verdict, the tie rules and the
//! signs (lock, CPU use, run-queue wait) that allow growth or a second look.

use super::window::{Est, Meas};
use super::{halfway, OursController, Probe};

impl OursController {
    /// The best estimate at any N but `except` and those whose step up was refused: a step
    /// down must stay within the margin of it (not each step of the one before, which would
    /// ratchet a flat top down by losses each under the noise), but a refused step's point
    /// estimate is the noisy maximum the pool already judged no real gain (agent-orchestration
    /// two cores gil: 23 threads read 104 against 97 at 15 and were refused under the lock;
    /// 10 then read 98, lost to 104, and the pool stayed at 15 against a best fixed pool of 8,
    /// P99 2.4x).
    pub(super) fn best_except(&self, except: u32) -> Est {
        self.table
            .iter()
            .filter(|e| e.0 != except && !self.refused.contains(&e.0))
            .map(|e| e.1)
            .fold(Est::default(), |a, b| if b.tps > a.tps { b } else { a })
    }

    /// The change from `base` to `new` that counts: the margin, or `noise_z` standard errors
    /// of the difference when the windows are noisier than that (relative to `base`).
    pub(super) fn threshold(&self, base: Est, new: Est) -> f64 {
        let se = (base.se * base.se + new.se * new.se).sqrt();
        self.p.margin.max(self.p.noise_z * se / base.tps.max(1e-9))
    }

    /// The pending probe's relative change against its reference (the base when going up,
    /// the best elsewhere when going down), and the change that counts; None without a
    /// reference.
    pub(super) fn change(&self, pr: &Probe, now: Est) -> Option<(f64, f64)> {
        let base = if pr.up {
            pr.base_tps
        } else {
            self.best_except(self.target)
        };
        if base.tps <= 0.0 {
            return None;
        }
        Some((now.tps / base.tps - 1.0, self.threshold(base, now)))
    }

    /// How the pending probe compares: Some(true) a real gain (up) or no real loss (down),
    /// Some(false) the opposite, None when the difference is within the noise.
    pub(super) fn verdict(&self, pr: &Probe, now: Est) -> Option<bool> {
        let Some((change, thr)) = self.change(pr, now) else {
            return Some(true);
        };
        if change > thr {
            Some(true)
        } else if change < -thr {
            Some(false)
        } else {
            None
        }
    }

    /// A probe still within the noise when it may last no longer: the point estimate
    /// decides, with `margin` as a dead band in which fewer threads win (less latency, less
    /// memory). A step up is also kept while the cores are not yet busy (unless it lowered
    /// their use), or when it raised their use by more than the margin: there small gains
    /// below the noise add up (native code, variable I/O, the last idle CPU on one core); a
    /// step down that left them idle by more than the margin lost, whatever the task counts
    /// say. Neither while the lock is the bottleneck (lock wait >= `contention_low`): there a
    /// thread more only queues for it, and on a flat plateau a noisy point gain would walk
    /// the pool up, adding latency; but CPU use still decides while the lower N left part of
    /// a core idle (`under_a_core`).
    /// Letting every tie go down ratcheted flat-topped CPU-bound optima down by steps each
    /// losing a little less than the noise (speech-features settled at 89 %). A step halfway
    /// back from the lock (`knee`) is kept on its point gain (or CPU gain under a core)
    /// alone: the lock binds above it.
    pub(super) fn tie_break(&self, pr: &Probe, now: Est, m: &Meas) -> bool {
        let change = self.change(pr, now).map_or(0.0, |c| c.0);
        let cpu_gain = self.cpu_change(pr, m) > self.p.margin;
        // A CPU gain that counts whatever the lock: the base left part of a core idle.
        let filled_a_core = cpu_gain && self.under_a_core(pr.base_cpu);
        if pr.up && pr.bisect {
            change > self.p.margin || filled_a_core
        } else if pr.up {
            // With the lock free and the cores already full at the base, a point gain without
            // more CPU use is noise: the extra threads can only queue for the cores (micro,
            // one core gil: 7 -> 11 -> 17 threads on +5 % and -3 % reads, CPU 1.00 throughout,
            // P99 2.3x that of the best fixed pool, 8).
            let point_gain = change > self.p.margin && !self.cores_full(pr.base_cpu);
            (self.lock_free(m) && (point_gain || self.room_to_grow(pr, m) || cpu_gain))
                || filled_a_core
        } else {
            let idled = self.cpu_change(pr, m) < -self.p.margin;
            self.busy_with_fewer(pr, m)
                || (change >= -self.p.margin
                    && !(idled && (self.lock_free(m) || self.under_a_core(m.cpu_util))))
        }
    }

    /// A step down after which the lock is still waited on (`contention_low`) and CPU use is
    /// within the margin of the base's (both measured). Under the lock a task costs at least
    /// as much CPU with more threads (hand-offs, switches), so as much CPU use with fewer
    /// threads is at least as much work, and CPU time is measured with far less noise than
    /// a window's task count. speech-features, two cores gil: fixed 2, 4 and 8 read
    /// 131-133 TPS, the lock waited on 0.43 of the time at 2 and one core busy from 2 to 8;
    /// 4 -> 2 read -3.5 % (within the noise, beyond the margin) and the pool stayed at 4-6,
    /// a steady P99 3.4-4.3x that of fixed 2.
    pub(super) fn busy_with_fewer(&self, pr: &Probe, m: &Meas) -> bool {
        !pr.up
            && !self.lock_free(m)
            && pr.base_cpu.is_some()
            && m.cpu_util.is_some()
            && self.cpu_change(pr, m) >= -self.p.margin
    }

    /// The lock waited on (`contention_low`) with at least `cpu_busy` of one core in use:
    /// the lock is held nearly all the time, and more threads can add work only where they
    /// run native code beside it.
    pub(super) fn lock_held(&self, lock: f64, cpu_util: Option<f64>) -> bool {
        lock >= self.p.contention_low && cpu_util.is_some() && !self.under_a_core(cpu_util)
    }

    /// CPU use (a share of the point's cores) below `cpu_busy` of one core. The lock lets one
    /// thread run Python at a time, so while the process leaves part of a core idle, CPU use
    /// tracks the work done even when threads wait for the lock: they wait on each other's
    /// hand-offs while, at other moments, all of them are off in I/O and the core idles. Near
    /// and beyond a core the extra CPU under a contended lock is native code or switching
    /// overhead (micro, two cores: 1.24 -> 1.30 cores from 8 to 16 threads while throughput
    /// fell 4 %; agent-orchestration, two cores: 0.98 -> 1.02 cores from 8 to 15, flat).
    /// agent-orchestration on one core, gil: 7 -> 11 threads raised CPU use 0.94 -> 1.00 with
    /// the lock waited on 0.3-0.5 of the time, a tie in task counts; the pool went back to 7
    /// (76-87 % of the best fixed pool, 8 -> 16 threads gaining 5 % in the fixed sweep).
    pub(super) fn under_a_core(&self, cpu_util: Option<f64>) -> bool {
        cpu_util.is_some_and(|u| u * f64::from(self.cores) < self.p.cpu_busy)
    }

    /// CPU use (a share of the point's cores) at `cpu_full` or above.
    pub(super) fn cores_full(&self, cpu_util: Option<f64>) -> bool {
        cpu_util.is_some_and(|u| u >= self.p.cpu_full)
    }

    /// Relative change of CPU utilisation from the probe's base to `m` (0 unless both were
    /// measured). With the lock free a task costs about the same CPU at any N, so CPU use
    /// tracks throughput with far less noise than the task counts of a window: vision on one
    /// core gains ~8 % from 9 to 14 threads (CPU 0.90 -> 0.98) while its 250 ms throughput
    /// samples swing +-15 %, and ties there walked the pool down to 6 or 4 (92-96 % of the
    /// best fixed pool).
    pub(super) fn cpu_change(&self, pr: &Probe, m: &Meas) -> f64 {
        match (pr.base_cpu, m.cpu_util) {
            (Some(b), Some(now)) if b > 0.0 => now / b - 1.0,
            _ => 0.0,
        }
    }

    /// How long a probe may be measured: a leap, and a step up whose point estimate gains
    /// more than twice the margin (a gain worth having, not yet beyond the noise), get
    /// `leap_probe_s`; others `max_probe_s`.
    pub(super) fn probe_limit_s(&self, pr: &Probe, now: Est) -> f64 {
        let promising = pr.up
            && self
                .change(pr, now)
                .is_some_and(|c| c.0 > 2.0 * self.p.margin);
        if pr.leap || promising {
            self.p.leap_probe_s
        } else {
            self.p.max_probe_s
        }
    }

    /// A step up that ended within the noise with a point gain beyond the margin while the
    /// lock became the bottleneck: the knee of the curve lies between the base and the step,
    /// so the pool tries halfway (geometrically) before giving the gain up. Some(halfway)
    /// when there is a thread count in between. At such knees (rag-pipeline 26 -> 39,
    /// agent-orchestration 8 -> 12, one core gil) the step read +4..+20 % and the pool went
    /// back to the base, 4-6 % under the best fixed pool; the whole step would cost ~1.4x the
    /// latency, as a task's wall time grows with N once the lock is saturated.
    pub(super) fn knee(
        &self,
        pr: &Probe,
        verdict: Option<bool>,
        now: Est,
        m: &Meas,
        queue: bool,
    ) -> Option<u32> {
        let gain = self.change(pr, now).is_some_and(|c| c.0 > self.p.margin);
        let fresh = pr.up && !pr.seek && !pr.leap && !pr.bisect;
        // With the lock held at the base the knee lies at or below it: a point gain without
        // more CPU use is noise (speech-features, two cores gil: 3 -> 5 threads tied with a
        // point gain just over the margin, one core busy at both, and halfway, 4, was kept
        // where fixed 2 to 8 are level).
        let past_it =
            self.lock_held(pr.base_lock, pr.base_cpu) && self.cpu_change(pr, m) <= self.p.margin;
        if !(fresh && verdict.is_none() && gain && queue && !self.lock_free(m)) || past_it {
            return None;
        }
        let mid = halfway(pr.base, self.target);
        (mid > pr.base && mid < self.target).then_some(mid)
    }

    /// Idle CPU and little lock waiting at a step up that did not lower CPU use: more
    /// threads can still turn waiting into work. A lock-free task costs the same CPU at any
    /// N, so use that fell with the step is the host taking the cores (micro, two cores
    /// free-threaded: windows read 0.80-0.97 in the host's slow spells and ties walked the
    /// pool 14 -> 21 -> 32 -> 48 -> 72 while the run-queue wait rose 0.28 -> 0.88; steady
    /// P99 4.7x that of the best fixed pool, 16).
    pub(super) fn room_to_grow(&self, pr: &Probe, m: &Meas) -> bool {
        self.spare_cpu(m, self.p.cpu_busy) && self.cpu_change(pr, m) >= 0.0
    }

    /// CPU use below `below` with the lock free.
    pub(super) fn spare_cpu(&self, m: &Meas, below: f64) -> bool {
        m.cpu_util.is_some_and(|u| u < below) && self.lock_free(m)
    }

    /// Growth is not vetoed: waits below `contention_high`, or high waits while the cores
    /// are not full and the lock is free (bursts: threads queue for the CPU at times and
    /// leave it idle at others, and more threads fill the gaps). Vision on one core waited
    /// 0.80 in the run queue at 9 threads with the core 96 % used, and 14 threads did ~8 %
    /// more; a step that fills nothing is still rejected by its probe (`tie_break`).
    pub(super) fn may_grow(&self, m: &Meas) -> bool {
        m.wait < self.p.contention_high || self.spare_cpu(m, self.p.cpu_full)
    }

    /// The lock is not the bottleneck.
    pub(super) fn lock_free(&self, m: &Meas) -> bool {
        m.lock < self.p.contention_low
    }

    /// Whether an estimate lost to `than` beyond the noise.
    pub(super) fn lost(&self, e: Est, than: Est) -> bool {
        than.tps > 0.0 && e.tps / than.tps - 1.0 < -self.threshold(than, e)
    }

    /// Settled, with the lock free, at an N whose estimate now loses beyond the noise to that
    /// of a step up the pool refused from it with the lock free at the step too: the refusal
    /// was judged against a base window that read high, as the settled windows since show.
    /// Returns the smallest such N, to be probed again from here, once per regime. Vision on
    /// one core, gil: 6 threads read 109 over their first second, 9 read 111 and were
    /// refused on the tie rule, and 6 then read 95-96 for 12 s (86 % of the best fixed pool,
    /// where fixed 8-32 read 109-113). A step refused under the lock was refused for what
    /// the lock does, not for a high base, and one thread never waits for the lock, so
    /// "free" at 1 says nothing: speech-features two cores gil settled at 1, its estimate
    /// sagged in a slow spell, and it re-tried 3 (refused at lock wait 0.57), then climbed
    /// to 4-5 where fixed 2 is the best. And only within one step (`up_from`): a leap's
    /// target was refused after a fall, and jumping back to it on the settled N's sag is a
    /// leap without the ties that justify one (sensor-telemetry two cores free-threaded: a
    /// leap to 620 threads read 3828 against 4434 at 183, 183 then sagged to 3429 in a slow
    /// spell, and the pool went straight back to 620 where fixed 256 is the best; steady P99
    /// 2.7x that of fixed 256).
    pub(super) fn revisit(&self, now: Est, m: &Meas, queue: bool) -> Option<u32> {
        if self.revisited || !queue || !self.lock_free(m) || !self.may_grow(m) {
            return None;
        }
        let step = self.up_from(self.target);
        self.table
            .iter()
            .filter(|e| e.0 > self.target && e.0 <= step && self.refused.contains(&e.0))
            .filter(|e| e.2 < self.p.contention_low && self.lost(now, e.1))
            .map(|e| e.0)
            .min()
    }

    /// A step up fell beyond the noise with the lock free at the base and at the step: the
    /// first time in a regime the fall is measured again before it is believed. This machine
    /// has spells of a second or so in which everything runs ~30 % slower at a constant N
    /// (agent-orchestration on one core, free-threaded: 60-63 TPS at 9 threads between
    /// 85-95); one of them in a step's window read 9 -> 14 as a fall, and the pool stayed at
    /// 9 where the fixed pools rise up to 64 threads (79 % of the best). With the lock
    /// saturated a fall is what more threads do, and is believed at once.
    pub(super) fn may_recheck(&self, pr: &Probe, m: &Meas, queue: bool) -> bool {
        !self.rechecked
            && !pr.seek
            && queue
            && self.lock_free(m)
            && pr.base_lock < self.p.contention_low
    }

    /// A step up read a fall while, with the lock free at the base and at the step, it put
    /// idle CPU to work (CPU use below `cpu_busy` at the base, up by more than the margin
    /// at the step; from busy cores the last few per cent are oversubscription's own
    /// switching as much as work: sensor-telemetry two cores free-threaded, 185 -> 417
    /// threads, CPU 0.97 -> 1.00 and -12 %, where fixed 256 is the best). Without the lock a
    /// task costs about the same CPU at any N, so the step's tasks cost more CPU each: the
    /// machine slowed during its window, and CPU use, not the task count, says what the step
    /// did. Of 1083 doublings of N with the lock free in the fixed sweeps of the campaigns
    /// to 2026-11-27, 8 raised CPU use by more than 2 % and lost more than 3 %; the 6 measured
    /// with the CPU speed meter each coincided with a drop of the meter at least as large
    /// (vision one core: 8 -> 16 threads, CPU 0.94 -> 1.00, -5 % at speed 0.86 -> 0.75).
    /// agent-orchestration on one core, free-threaded: 8 -> 12 threads raised CPU use
    /// 0.93 -> 1.00 and read -31 % in a spell that outlasted the recheck (8 threads read 60
    /// against 85 before it); the pool stayed at 8, 84 % of the best fixed pool.
    pub(super) fn slowed(&self, pr: &Probe, m: &Meas) -> bool {
        pr.up
            && self.lock_free(m)
            && pr.base_lock < self.p.contention_low
            && pr.base_cpu.is_some_and(|u| u < self.p.cpu_busy)
            && self.cpu_change(pr, m) > self.p.margin
    }

    /// A step up that gained beyond the noise from full cores (`cpu_full`) with the lock
    /// free at the base and at the step is measured again at the base before it is kept
    /// (`after_confirm`). There a step cannot gain much (throughput is the cores' speed over
    /// a task's CPU cost, which more threads do not lower), and the noise a window estimates
    /// from its own intervals misses the machine's drift between windows: micro, two cores
    /// free-threaded, 16 -> 24 threads read +4.5 % against a threshold of 4.2 %, CPU 1.00
    /// at both, and the pool went on to 36 where fixed 16 to 256 are level (steady P99
    /// 2.4x that of fixed 16). Likewise from a held lock (`lock_held`) still waited on at the
    /// step: speech-features, two cores gil, 4 -> 6 threads read +22 % against a threshold of
    /// 18 %, one core busy at both, where fixed 2 to 8 are level.
    pub(super) fn must_confirm(&self, pr: &Probe, m: &Meas) -> bool {
        let free_and_full = self.cores_full(pr.base_cpu)
            && pr.base_lock < self.p.contention_low
            && self.lock_free(m);
        let held = self.lock_held(pr.base_lock, pr.base_cpu) && !self.lock_free(m);
        pr.up && !pr.bisect && !pr.leap && (free_and_full || held)
    }
}

//! The whole machine's CPU use (/proc/stat), to tell how much of it other processes took
//! while this one measured something that should run on an idle machine (calibration).

use std::time::{Duration, Instant};

use super::Usage;

/// Busy CPU time of all cores since boot (everything but idle and iowait; steal counts as
/// busy: a hypervisor's other guests slow us as much as a local process does), with the
/// wall clock and this process's own CPU time at the same moment.
#[derive(Debug, Clone, Copy)]
pub struct HostCpu {
    busy: Duration,
    own: Duration,
    at: Instant,
    /// The cores /proc/stat counts (the whole machine's, whatever this process may use).
    cores: usize,
}

impl HostCpu {
    /// Time since this snapshot.
    pub fn elapsed(&self) -> Duration {
        self.at.elapsed()
    }

    /// None where /proc/stat cannot be read (not Linux).
    pub fn now() -> Option<HostCpu> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        // SAFETY: sysconf with a constant name has no preconditions.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let busy = Duration::from_secs_f64(busy_ticks(&stat)? as f64 / tck);
        let cores = stat.lines().filter(|l| l.starts_with("cpu") && !l.starts_with("cpu ")).count();
        Some(HostCpu { busy, own: Usage::now().cpu, at: Instant::now(), cores: cores.max(1) })
    }

    /// The share of the machine's cores that other processes used since `start` (0..=1);
    /// None over less than 0.1 s, which the clock ticks (10 ms) cannot resolve.
    pub fn others_since(&self, start: &HostCpu) -> Option<f64> {
        let span = self.at.duration_since(start.at).as_secs_f64();
        if span < 0.1 {
            return None;
        }
        let busy = self.busy.saturating_sub(start.busy);
        let own = self.own.saturating_sub(start.own);
        Some((busy.saturating_sub(own).as_secs_f64() / (span * self.cores as f64)).clamp(0.0, 1.0))
    }
}

/// Busy clock ticks from the aggregate `cpu` line of /proc/stat.
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some(total.saturating_sub(idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_leave_out_idle_and_iowait_and_count_steal() {
        let stat = "cpu  100 5 20 900 30 1 2 7 50 0\ncpu0 50 2 10 450 15 0 1 3 25 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 5 + 20 + 1 + 2 + 7));
        assert_eq!(busy_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn others_share_is_busy_time_not_ours_over_the_cores_wall_time() {
        let t0 = Instant::now();
        let start = HostCpu { busy: Duration::from_secs(10), own: Duration::from_secs(1), at: t0, cores: 2 };
        // 2 s on 2 cores: 4 core-seconds; 3 s busy of which 1.5 s ours -> 1.5 / 4.
        let end = HostCpu {
            busy: Duration::from_secs(13),
            own: Duration::from_millis(2500),
            at: t0 + Duration::from_secs(2),
            cores: 2,
        };
        assert!((end.others_since(&start).unwrap() - 0.375).abs() < 1e-9);
        // Our own CPU counted more finely than the ticks: never below zero.
        let quiet = HostCpu { busy: Duration::from_secs(10), own: Duration::from_secs(2), ..end };
        assert_eq!(quiet.others_since(&start), Some(0.0));
        let soon = HostCpu { at: t0 + Duration::from_millis(50), ..end };
        assert_eq!(soon.others_since(&start), None, "too short to tell");
    }

    #[test]
    fn a_spinning_child_process_shows_as_others() {
        let start = HostCpu::now().expect("/proc/stat on Linux");
        let mut child = std::process::Command::new("sh")
            .args(["-c", "end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do :; done"])
            .spawn()
            .expect("sh");
        child.wait().expect("child");
        let end = HostCpu::now().expect("/proc/stat");
        let share = end.others_since(&start).expect("1-2 s measured");
        // The child spun one core for 1-2 s of the time measured (its CPU is not ours).
        assert!(share > 0.25 / end.cores as f64, "others' share {share} with a spinning child");
    }
}

//! Whole-process counters: CPU time and context switches (getrusage sums all threads),
//! peak resident set (VmHWM).

use std::time::Duration;

#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub cpu: Duration,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
}

impl Usage {
    pub fn now() -> Usage {
        // SAFETY: getrusage fills a zeroed struct of the right type.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut ru);
            ru
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Usage {
            cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
            voluntary_switches: ru.ru_nvcsw as u64,
            involuntary_switches: ru.ru_nivcsw as u64,
        }
    }

    pub fn since(&self, start: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(start.cpu),
            voluntary_switches: self.voluntary_switches.saturating_sub(start.voluntary_switches),
            involuntary_switches: self.involuntary_switches.saturating_sub(start.involuntary_switches),
        }
    }
}

/// Peak resident set of this process in MB (VmHWM from /proc/self/status).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_kb(&status, "VmHWM:").map(|kb| kb as f64 / 1024.0)
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(status_kb("Name:\tx\nVmHWM:\t  2048 kB\n", "VmHWM:"), Some(2048));
        assert!(peak_rss_mb().unwrap() > 0.5);
    }

    #[test]
    fn usage_counts_cpu_work() {
        let a = Usage::now();
        std::hint::black_box(workloads::kernels::arith(200_000));
        let d = Usage::now().since(&a);
        assert!(d.cpu > Duration::ZERO);
    }
}

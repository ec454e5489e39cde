//! Run-queue wait of the calling thread, from /proc/thread-self/schedstat (the second
//! field: time spent runnable but waiting for a CPU). The file is kept open per thread and
//! re-read with pread, which costs about a microsecond instead of an open per task.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

thread_local! {
    static SCHEDSTAT: RefCell<Option<File>> = RefCell::new(File::open("/proc/thread-self/schedstat").ok());
}

/// Cumulative run-queue wait of this thread (zero where schedstat is unavailable).
pub fn runq_wait() -> Duration {
    SCHEDSTAT.with(|f| {
        let f = f.borrow();
        let Some(file) = f.as_ref() else { return Duration::ZERO };
        let mut buf = [0u8; 96];
        let n = file.read_at(&mut buf, 0).unwrap_or(0);
        parse_runq_ns(&buf[..n]).map(Duration::from_nanos).unwrap_or_default()
    })
}

/// Whether this kernel exposes schedstat (recorded, so a zero column is not misread).
pub fn available() -> bool {
    File::open("/proc/thread-self/schedstat").is_ok()
}

fn parse_runq_ns(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_second_field() {
        assert_eq!(parse_runq_ns(b"123456 7890 12\n"), Some(7890));
        assert_eq!(parse_runq_ns(b"garbage"), None);
    }

    #[test]
    fn runq_wait_is_monotonic() {
        assert!(available(), "/proc/thread-self/schedstat missing: kernel without CONFIG_SCHEDSTATS");
        let a = runq_wait();
        std::hint::black_box(workloads::kernels::arith(10_000));
        assert!(runq_wait() >= a);
    }
}

//! CPU affinity: the CPUs this process may use, and the fallback enforcement when no cgroup
//! hierarchy is usable (CPUs only; memory and quota are not enforced).

use std::mem;

/// Largest CPU number a `cpu_set_t` can hold plus one.
const SET_BITS: usize = 8 * mem::size_of::<libc::cpu_set_t>();

/// The CPUs this process may run on, ascending.
pub(crate) fn current() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; the kernel fills at most size_of bytes of it.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    let rc = unsafe { libc::sched_getaffinity(0, mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc == 0 {
        // SAFETY: i < SET_BITS, so CPU_ISSET stays in bounds.
        let cpus: Vec<usize> = (0..SET_BITS)
            .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
            .collect();
        if !cpus.is_empty() {
            return cpus;
        }
    }
    // Should not happen on Linux; fall back to "all CPUs" rather than fail.
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (0..n).collect()
}

/// A `cpu_set_t` holding `cpus`, built before fork so the child only has to pass it on.
pub(crate) fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: zeroed is a valid empty set; CPU_SET is only called in bounds.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    for &cpu in cpus.iter().filter(|&&c| c < SET_BITS) {
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    set
}

/// `[0, 1, 2, 5]` -> `"0-2,5"`, the kernel's list format (cpuset.cpus, Cpus_allowed_list).
pub(crate) fn format_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `"0-2,5"` -> `[0, 1, 2, 5]`; malformed parts are skipped.
#[cfg(test)]
pub(crate) fn parse_list(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.trim().parse::<usize>().ok()),
        }
    }
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trip() {
        assert_eq!(format_list(&[0, 1, 2, 5]), "0-2,5");
        assert_eq!(format_list(&[3]), "3");
        assert_eq!(format_list(&[]), "");
        assert_eq!(parse_list("0-2,5\n"), vec![0, 1, 2, 5]);
        assert_eq!(parse_list(""), Vec::<usize>::new());
    }

    #[test]
    fn current_is_not_empty() {
        assert!(!current().is_empty());
    }
}

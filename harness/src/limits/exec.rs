//! Putting a child inside the limits between fork and exec, and killing what a point started.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use super::affinity;

/// The process groups of the children started through `configure`. Each child reports its
/// pid (its pgid after setpgid) through a non-blocking pipe, so `kill_all` finds the group
/// without the caller handing the `Child` back.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pipes: Vec<OwnedFd>,
    pgids: Vec<i32>,
}

impl Groups {
    fn drain(&mut self) {
        let mut buf = [0u8; 256];
        for fd in &self.pipes {
            loop {
                // SAFETY: reads into a local buffer of the given length from an fd we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break; // EAGAIN: nothing more for now; 0: all writers gone
                }
                // Writes of 4 bytes to a pipe are atomic, so records never straddle reads.
                let n = usize::try_from(n).unwrap_or(0);
                for chunk in buf[..n].chunks_exact(4) {
                    let pid = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    if pid > 0 && !self.pgids.contains(&pid) {
                        self.pgids.push(pid);
                    }
                }
            }
        }
    }
}

/// Sets up `cmd` so that its child makes its own process group, joins every cgroup whose
/// `cgroup.procs` is in `procs_files`, and is pinned to `cpus`, all before exec.
pub(crate) fn configure(
    cmd: &mut Command,
    procs_files: &[PathBuf],
    cpus: &[usize],
    groups: &Mutex<Groups>,
) {
    // Everything the child needs is allocated here, in the parent: after fork only
    // async-signal-safe calls are allowed.
    let procs: Vec<CString> = procs_files
        .iter()
        .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
        .collect();
    let set = affinity::cpu_set(cpus);
    let report = report_pipe().map(|(read, write)| {
        groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pipes
            .push(read);
        write
    });
    let hook = move || -> io::Result<()> {
        // SAFETY (whole block): only async-signal-safe libc calls on memory prepared before fork.
        unsafe {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            let pid = libc::getpid();
            if let Some(fd) = &report {
                // Best effort: without it kill_all still reaches the cgroup's processes.
                let bytes = pid.to_ne_bytes();
                let _ = libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
            }
            let mut digits = [0u8; 12];
            let len = format_pid(pid, &mut digits);
            for path in &procs {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let written = libc::write(fd, digits.as_ptr().cast(), len);
                let err = io::Error::last_os_error();
                libc::close(fd);
                if written < 0 {
                    return Err(err);
                }
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook only makes async-signal-safe calls and allocates nothing.
    unsafe {
        cmd.pre_exec(hook);
    }
}

/// A close-on-exec, non-blocking pipe (read end, write end); `None` if out of descriptors.
fn report_pipe() -> Option<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills two fds on success, which we then own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    if rc != 0 {
        return None;
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe { Some((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Decimal digits of `pid` into `buf`, returning the length (no allocation: runs after fork).
fn format_pid(pid: i32, buf: &mut [u8; 12]) -> usize {
    let mut n = pid.unsigned_abs();
    let mut tmp = [0u8; 12];
    let mut len = 0;
    loop {
        tmp[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 || len == tmp.len() {
            break;
        }
    }
    for i in 0..len {
        buf[i] = tmp[len - 1 - i];
    }
    len
}

/// SIGKILL to every process group a child of the point made.
pub(crate) fn kill_groups(groups: &Mutex<Groups>) {
    let mut g = groups.lock().unwrap_or_else(|e| e.into_inner());
    g.drain();
    for &pgid in &g.pgids {
        // SAFETY: plain syscall; a group that is gone gives ESRCH, which is fine.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// SIGKILL to every process listed in the given cgroup directories, repeated for a moment
/// because a process may fork between the read of cgroup.procs and the kill.
pub(crate) fn kill_procs(dirs: &[PathBuf]) {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    for _ in 0..20 {
        let pids: Vec<i32> = dirs
            .iter()
            .flat_map(|d| super::fs::procs(d))
            .filter(|&p| p > 0 && p != me)
            .collect();
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            // SAFETY: plain syscall.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_digits() {
        let mut buf = [0u8; 12];
        let n = format_pid(40213, &mut buf);
        assert_eq!(&buf[..n], b"40213");
        let n = format_pid(7, &mut buf);
        assert_eq!(&buf[..n], b"7");
    }
}

//! A pool of N worker processes fed from one queue: multiprocessing.Pool(N).
//!
//! Each worker is this binary run as `__worker`: single-threaded, with its own interpreter
//! (its own, uncontended GIL), its own compiled copy of the workload (its own ONNX session)
//! and an interpreter baseline of touched memory, so the pool pays what a Python process
//! pool pays in memory. Protocol, one text line each way per message:
//!
//! - parent -> worker: the Point as JSON (first line), then one task index per line;
//!   end of input: the worker exits.
//! - worker -> parent: `ready <pid> <calibration JSON>` once compiled, then per task
//!   `<index> <wall_ns> <cpu_ns> <lock_wait_ns> <runq_wait_ns>`.
//!
//! One feeder thread per worker takes the next job from the shared queue when its worker
//! has answered the previous one, as Pool's task handler does. A worker that dies makes
//! the point fail with an error naming it and its task; all workers are killed and reaped
//! on every way out (the `Workers` drop guard).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use workloads::{Calibrated, Rng};

use super::feed::{feed, task_seed, Budget};
use super::pool::Job;
use super::{Outcome, Setup};
use crate::measure::{TaskStats, Usage};
use crate::runtime::{touched, Interpreter, Program, TaskTimes};
use crate::scenario::Point;

/// The hidden subcommand a worker runs.
pub const WORKER_SUBCOMMAND: &str = "__worker";

/// Overrides the worker executable (default: this binary); tests point it at the
/// `gilbench` binary, since their own executable is the test harness.
pub const WORKER_EXE_ENV: &str = "GILBENCH_WORKER_EXE";

/// Test hook: a worker that receives this task index kills itself with SIGKILL before
/// running it (as the OOM killer would).
pub const CRASH_AT_ENV: &str = "GILBENCH_WORKER_CRASH_AT";

/// Resident memory of a bare CPython 3.11 process, which every worker allocates and
/// touches at start. Measured here (x86-64 Linux) as VmRSS from /proc/<pid>/status of
/// `python3 -c 'import time; time.sleep(1)'`, three runs: 13.5 MB (13 504-13 656 kB) for
/// the pyenv CPython 3.11.7 on PATH, with `site` (102 modules at start). For reference:
/// `python3 -S` 8.4 MB, Debian's /usr/bin/python3.11 8.2 MB, a multiprocessing.Pool
/// worker after a map 16 MB (spawn) and 12.6 MB (fork).
pub const DEFAULT_INTERPRETER_RSS_MB: f64 = 13.5;

/// Stack of each feeder thread: it only moves lines.
const FEEDER_STACK_BYTES: usize = 256 * 1024;

/// Accumulators striped as in `fixed`.
const STRIPES: usize = 16;

/// How often the tree's memory is sampled during the window.
const MEMORY_SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// How long to wait for a worker whose output closed to exit, before killing it.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// The interpreter baseline of each worker, in MB: `{ process = { interpreter_rss_mb = X } }`.
fn interpreter_rss_mb(point: &Point) -> f64 {
    match &point.strategy {
        crate::scenario::StrategySpec::Process(p) => p.interpreter_rss_mb,
        _ => DEFAULT_INTERPRETER_RSS_MB,
    }
}

fn worker_exe() -> std::io::Result<std::path::PathBuf> {
    match std::env::var_os(WORKER_EXE_ENV) {
        Some(p) if !p.is_empty() => Ok(p.into()),
        _ => workloads::locate::own_exe(),
    }
}

// ---------------------------------------------------------------------------------------
// Worker side

/// The worker process: reads the Point, compiles it, then runs tasks until its input ends.
pub fn worker_main() -> anyhow::Result<()> {
    // Die with the parent even where no cgroup can kill the tree (affinity-only limits).
    // The signal comes when the parent *thread* that spawned us exits: `run` must spawn
    // from a thread that outlives the pool (it does: the caller's).
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut input = std::io::stdin().lock();
    let mut line = String::new();
    input.read_line(&mut line).context("reading the point spec")?;
    let point: Point = serde_json::from_str(line.trim()).context("parsing the point spec")?;
    let (program, calibration) =
        Program::compile_with(&point.workload.phases, &point.onnx, &point.calibration)?;
    let interp = Interpreter::new(&point.runtime)?;
    let baseline = touched((interpreter_rss_mb(&point) * 1024.0 * 1024.0) as usize);
    let crash_at: Option<u64> = std::env::var(CRASH_AT_ENV).ok().and_then(|s| s.trim().parse().ok());

    let mut out = BufWriter::new(std::io::stdout().lock());
    // The calibration goes to the parent, which compiles nothing itself.
    writeln!(out, "ready {} {}", std::process::id(), serde_json::to_string(&calibration)?)?;
    out.flush()?;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break; // the parent closed our input: done
        }
        let index: u64 = line.trim().parse().with_context(|| format!("bad task line {line:?}"))?;
        if crash_at == Some(index) {
            // SAFETY: raising a signal on ourselves; SIGKILL cannot be caught.
            unsafe { libc::raise(libc::SIGKILL) };
        }
        let mut rng = Rng::new(task_seed(point.seed, index));
        let t = program.run(&interp, &mut rng);
        writeln!(
            out,
            "{index} {} {} {} {}",
            t.wall.as_nanos(),
            t.cpu.as_nanos(),
            t.lock_wait.as_nanos(),
            t.runq_wait.as_nanos()
        )?;
        out.flush()?;
    }
    drop(baseline);
    Ok(())
}

/// Parses a worker's reply to task `index`.
fn parse_reply(line: &str, index: u64) -> Option<TaskTimes> {
    let mut f = line.split_ascii_whitespace().map(|s| s.parse::<u64>().ok());
    if f.next()?? != index {
        return None;
    }
    let mut d = || f.next().flatten().map(Duration::from_nanos);
    Some(TaskTimes { wall: d()?, cpu: d()?, lock_wait: d()?, runq_wait: d()? })
}

// ---------------------------------------------------------------------------------------
// Parent side

/// The shared task queue.
#[derive(Default)]
struct JobQueue {
    state: Mutex<(VecDeque<Job>, bool)>,
    ready: Condvar,
}

impl JobQueue {
    fn push(&self, job: Job) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0.push_back(job);
        self.ready.notify_one();
    }

    /// Blocks until a job is there; `None` once closed (queued jobs are then dropped).
    fn pop(&self) -> Option<Job> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.1 {
                return None;
            }
            if let Some(j) = s.0.pop_front() {
                return Some(j);
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.ready.notify_all();
    }
}

/// Tasks in flight, whether arrivals are still coming, and the first failure.
#[derive(Default)]
struct Progress {
    state: Mutex<ProgressState>,
    changed: Condvar,
}

#[derive(Default)]
struct ProgressState {
    pending: u64,
    fed: bool,
    failure: Option<String>,
}

impl Progress {
    fn update(&self, f: impl FnOnce(&mut ProgressState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_all();
    }

    fn failed(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).failure.is_some()
    }

    /// Until everything fed has finished, `deadline` passes, or a worker fails.
    fn wait(&self, deadline: Option<Instant>) -> Result<(), String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(f) = &s.failure {
                return Err(f.clone());
            }
            if s.fed && s.pending == 0 {
                return Ok(());
            }
            s = match deadline {
                None => self.changed.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Ok(());
                    }
                    self.changed.wait_timeout(s, d - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

/// What the feeders share with the main thread.
struct Shared {
    queue: JobQueue,
    progress: Progress,
    stats: Vec<Mutex<TaskStats>>,
    budget: OnceLock<Budget>,
    next: AtomicU64,
    /// The measurement window is over: completions are no longer recorded.
    closed: AtomicBool,
    /// Workers are being killed: a closed pipe is expected, not a failure.
    stopping: AtomicBool,
}

/// The worker processes and their feeders; dropping it kills and reaps every worker.
struct Workers {
    children: Arc<Vec<Mutex<Child>>>,
    pids: Vec<u32>,
    shared: Arc<Shared>,
    feeders: Vec<JoinHandle<()>>,
}

struct Pipes {
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Workers {
    /// Starts `n` workers, sends each the point, and waits until all are ready.
    fn start(
        point: &Point,
        n: usize,
        shared: Arc<Shared>,
    ) -> anyhow::Result<(Workers, Vec<Pipes>, Vec<Calibrated>)> {
        let exe = worker_exe().context("locating the worker executable")?;
        let spec = serde_json::to_string(point)?;
        let mut workers =
            Workers { children: Arc::new(Vec::new()), pids: Vec::new(), shared, feeders: Vec::new() };
        let mut children = Vec::with_capacity(n);
        let mut pipes = Vec::with_capacity(n);
        let mut result = Ok(());
        for w in 0..n {
            let spawned = Command::new(&exe)
                .arg(WORKER_SUBCOMMAND)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn();
            let mut child = match spawned {
                Ok(c) => c,
                Err(e) => {
                    result = Err(anyhow!(e).context(format!("starting worker {w} ({})", exe.display())));
                    break;
                }
            };
            workers.pids.push(child.id());
            match (child.stdin.take(), child.stdout.take()) {
                (Some(i), Some(o)) => {
                    pipes.push(Pipes { stdin: BufWriter::new(i), stdout: BufReader::new(o) })
                }
                _ => result = Err(anyhow!("worker {w}: no pipes")),
            }
            children.push(Mutex::new(child));
            if result.is_err() {
                break;
            }
        }
        workers.children = Arc::new(children);
        result?;
        // All workers compile concurrently; then collect their ready lines.
        for (w, p) in pipes.iter_mut().enumerate() {
            if let Err(e) = writeln!(p.stdin, "{spec}").and_then(|()| p.stdin.flush()) {
                let (who, how) = workers.describe(w);
                bail!("{who} failed to start: {how} (writing the point: {e})");
            }
        }
        let mut line = String::new();
        let mut calibration = None;
        for (w, p) in pipes.iter_mut().enumerate() {
            line.clear();
            let ok = p.stdout.read_line(&mut line).is_ok_and(|k| k > 0);
            // "ready <pid> <calibration as JSON>"
            let calib = line
                .strip_prefix("ready ")
                .and_then(|rest| rest.split_once(' '))
                .and_then(|(_, json)| serde_json::from_str::<Vec<Calibrated>>(json.trim()).ok());
            match calib {
                Some(c) if ok => calibration = calibration.or(Some(c)),
                _ => {
                    let (who, how) = workers.describe(w);
                    bail!("{who} failed to start: {how} (see its stderr)");
                }
            }
        }
        Ok((workers, pipes, calibration.unwrap_or_default()))
    }

    /// "worker 3 (pid 123)" and how it ended, after waiting briefly for it to exit.
    fn describe(&self, w: usize) -> (String, String) {
        let pid = self.pids.get(w).copied().unwrap_or(0);
        let how = self.children.get(w).map_or_else(|| "unknown".into(), how_it_ended);
        (format!("worker {w} (pid {pid})"), how)
    }

    /// Starts one feeder thread per worker.
    fn feed(&mut self, pipes: Vec<Pipes>) -> anyhow::Result<()> {
        for (w, mut p) in pipes.into_iter().enumerate() {
            let shared = self.shared.clone();
            let children = self.children.clone();
            let pid = self.pids[w];
            let h = std::thread::Builder::new()
                .name(format!("feeder-{w}"))
                .stack_size(FEEDER_STACK_BYTES)
                .spawn(move || {
                    if let Err(index) = serve(&shared, w, &mut p) {
                        if !shared.stopping.load(Ordering::Acquire) {
                            let how = how_it_ended(&children[w]);
                            let msg = match index {
                                Some(i) => {
                                    format!("worker {w} (pid {pid}) died: {how}, while running task {i}")
                                }
                                None => format!("worker {w} (pid {pid}) sent an unreadable reply ({how})"),
                            };
                            shared.progress.update(|s| {
                                s.failure.get_or_insert(msg);
                            });
                        }
                    }
                })
                .context("starting a feeder thread")?;
            self.feeders.push(h);
        }
        Ok(())
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.queue.close();
        for c in self.children.iter() {
            let mut c = c.lock().unwrap_or_else(|e| e.into_inner());
            // Kill is a no-op for a child already reaped; wait reaps it (no zombie).
            let _ = c.kill();
            let _ = c.wait();
        }
        // Killed workers close their pipes, so every feeder returns.
        for h in self.feeders.drain(..) {
            let _ = h.join();
        }
    }
}

/// How a worker whose pipes closed ended: its exit status, or that it was killed.
fn how_it_ended(child: &Mutex<Child>) -> String {
    exit_of(child).map_or_else(|| "closed its pipes but kept running (killed)".into(), |s| s.to_string())
}

/// The exit status of a worker, waiting up to `EXIT_GRACE`; kills it if it is still there.
fn exit_of(child: &Mutex<Child>) -> Option<ExitStatus> {
    let t0 = Instant::now();
    loop {
        let mut c = child.lock().unwrap_or_else(|e| e.into_inner());
        match c.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if t0.elapsed() < EXIT_GRACE => {}
            _ => {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
        }
        drop(c);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A feeder's loop: the next job to its worker, its reply recorded. `Err(Some(task))` when
/// the worker's pipe closed with that task outstanding, `Err(None)` on a garbled reply.
fn serve(shared: &Shared, w: usize, p: &mut Pipes) -> Result<(), Option<u64>> {
    let mut line = String::new();
    while let Some(job) = shared.queue.pop() {
        let i = job.index;
        writeln!(p.stdin, "{i}").and_then(|()| p.stdin.flush()).map_err(|_| Some(i))?;
        line.clear();
        match p.stdout.read_line(&mut line) {
            Ok(k) if k > 0 => {}
            _ => return Err(Some(i)),
        }
        let back = Instant::now();
        let times = parse_reply(&line, i).ok_or(None)?;
        {
            let mut stripe = shared.stats[w % shared.stats.len()].lock().unwrap_or_else(|e| e.into_inner());
            if !shared.closed.load(Ordering::Acquire) {
                // Response = arrival to the reply back in the parent: queueing plus the
                // pipe round trip (the IPC cost) plus the worker-measured service time.
                stripe
                    .record(&times, back.saturating_duration_since(job.queued_at).saturating_sub(times.wall));
                if let Some(b) = shared.budget.get() {
                    stripe.count_end(back.saturating_duration_since(b.start));
                }
            }
        }
        if shared.budget.get().is_some_and(Budget::refill) {
            shared.progress.update(|s| s.pending += 1);
            shared
                .queue
                .push(Job { index: shared.next.fetch_add(1, Ordering::Relaxed), queued_at: Instant::now() });
        }
        shared.progress.update(|s| s.pending = s.pending.saturating_sub(1));
    }
    Ok(())
}

/// Runs the point on `threads` worker processes. `spawn` covers starting them and their
/// compiling and calibrating; `usage` and `tree_memory_mb` cover the parent and its workers.
/// The parent compiles nothing (`setup.program` is empty): each worker compiles its own,
/// and worker 0's calibration is the point's.
pub fn run(setup: Arc<Setup>) -> anyhow::Result<Outcome> {
    let p = setup.point.clone();
    let n = p.threads.max(1) as usize;
    let shared = Arc::new(Shared {
        queue: JobQueue::default(),
        progress: Progress::default(),
        stats: (0..STRIPES.min(n)).map(|_| Mutex::new(TaskStats::default())).collect(),
        budget: OnceLock::new(),
        next: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
    });

    let t0 = Instant::now();
    let (mut workers, pipes, calibration) = Workers::start(&p, n, shared.clone())?;
    let spawn = t0.elapsed();
    workers.feed(pipes)?;
    let mut tree: Vec<u32> = vec![std::process::id()];
    tree.extend(&workers.pids);

    let usage0 = tree_usage(&workers.pids);
    let start = Instant::now();
    let sampler = MemorySampler::start(tree.clone())?;
    let window = Budget { budget: p.tasks, start };
    let _ = shared.budget.set(window);
    // Arrivals on their own thread, so that a dead worker is noticed while they go on.
    let arrivals = {
        let shared = shared.clone();
        std::thread::Builder::new().name("arrivals".into()).spawn(move || {
            feed(p.arrival, p.tasks, p.threads, p.seed, |_, at| {
                if shared.progress.failed() {
                    return;
                }
                shared.progress.update(|s| s.pending += 1);
                shared.queue.push(Job { index: shared.next.fetch_add(1, Ordering::Relaxed), queued_at: at });
            });
            shared.progress.update(|s| s.fed = true);
        })?
    };
    if let Err(failure) = shared.progress.wait(window.deadline()) {
        // The arrivals thread may sleep until its next arrival: leave it, workers go now.
        drop(workers);
        bail!(failure);
    }
    let elapsed = start.elapsed();
    shared.closed.store(true, Ordering::Release);
    let usage = tree_usage(&workers.pids).since(&usage0);
    let memory = sampler.stop();
    let _ = arrivals.join();
    drop(workers);

    let mut total = TaskStats::default();
    for s in shared.stats.iter() {
        total.merge(&s.lock().unwrap_or_else(|e| e.into_inner()));
    }
    let unfinished = shared.next.load(Ordering::Relaxed).saturating_sub(total.tasks);
    Ok(Outcome {
        stats: total,
        elapsed,
        spawn,
        usage,
        unfinished,
        timeline: Vec::new(),
        tree_memory_mb: Some(memory),
        calibration: Some(calibration),
    })
}

// ---------------------------------------------------------------------------------------
// Measurements over the process tree

/// CPU and context switches of this process (getrusage) plus its workers, read from /proc
/// since getrusage(RUSAGE_CHILDREN) only counts children already waited for: CPU is
/// utime + stime of /proc/<pid>/stat (all threads, clock ticks: 10 ms resolution per read),
/// switches are those of the worker's main thread (/proc/<pid>/status), which runs its tasks.
fn tree_usage(workers: &[u32]) -> Usage {
    let mut u = Usage::now();
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    for &pid in workers {
        if let Some(ticks) = stat_cpu_ticks(pid) {
            u.cpu += Duration::from_nanos(ticks.saturating_mul(1_000_000_000 / tck));
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            u.voluntary_switches += status_field(&status, "voluntary_ctxt_switches:").unwrap_or(0);
            u.involuntary_switches += status_field(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        }
    }
    u
}

/// utime + stime of a process, in clock ticks.
fn stat_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu_ticks(&stat)
}

fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `key: value [kB]` line of /proc status or smaps_rollup.
fn status_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Resident (Rss) and proportional (Pss) memory summed over `pids`, in MB, from
/// /proc/<pid>/smaps_rollup. Pss splits shared pages (the binary, shared libraries) among
/// the processes that map them, so its sum is the tree's real footprint; a process that
/// is gone counts zero.
pub fn tree_memory_mb(pids: &[u32]) -> (f64, f64) {
    let (mut rss, mut pss) = (0u64, 0u64);
    for pid in pids {
        if let Ok(t) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            rss += status_field(&t, "Rss:").unwrap_or(0);
            pss += status_field(&t, "Pss:").unwrap_or(0);
        }
    }
    (rss as f64 / 1024.0, pss as f64 / 1024.0)
}

/// Samples `tree_memory_mb` every `MEMORY_SAMPLE_EVERY` and keeps the maxima.
struct MemorySampler {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<(f64, f64)>,
    pids: Vec<u32>,
}

impl MemorySampler {
    fn start(pids: Vec<u32>) -> std::io::Result<MemorySampler> {
        let (stop, rx) = mpsc::channel::<()>();
        let sampled = pids.clone();
        let handle = std::thread::Builder::new().name("memory".into()).spawn(move || {
            let mut peak = (0f64, 0f64);
            loop {
                let (r, p) = tree_memory_mb(&sampled);
                peak = (peak.0.max(r), peak.1.max(p));
                if !matches!(rx.recv_timeout(MEMORY_SAMPLE_EVERY), Err(mpsc::RecvTimeoutError::Timeout)) {
                    return peak;
                }
            }
        })?;
        Ok(MemorySampler { stop, handle, pids })
    }

    /// Peak (rss, pss) over the samples and one last sample taken now.
    fn stop(self) -> (f64, f64) {
        let last = tree_memory_mb(&self.pids);
        let _ = self.stop.send(());
        let peak = self.handle.join().unwrap_or_default();
        (peak.0.max(last.0), peak.1.max(last.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replies_and_proc_files() {
        let t = parse_reply("17 3000 2000 500 100\n", 17).unwrap();
        assert_eq!(t.wall, Duration::from_nanos(3000));
        assert_eq!(t.runq_wait, Duration::from_nanos(100));
        assert!(parse_reply("16 3000 2000 500 100\n", 17).is_none(), "wrong index");
        assert!(parse_reply("17 3000 2000\n", 17).is_none(), "short");
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 10 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(12));
        assert_eq!(status_field("Rss:     2048 kB\nPss:  1024 kB\n", "Pss:"), Some(1024));
        let (rss, pss) = tree_memory_mb(&[std::process::id()]);
        assert!(rss > 0.5 && pss > 0.5 && pss <= rss, "{rss} {pss}");
    }
}

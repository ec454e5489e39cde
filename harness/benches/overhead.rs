//! Costs the harness adds to what it measures: the per-task instrumentation (the paper's
//! table: wall clock read, thread CPU clock read, the combined per-task pattern, a no-op
//! baseline; target for the combined pattern < 100 ns median), one controller decision, one
//! uncontended take/drop of the emulated GIL (target < 100 ns), a GIL handoff between two
//! threads, and the fixed pool's dispatch per task (target < 2 us).
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gilbench::controller::{Controller, ControllerSpec, Sample};
use gilbench::measure::sched;
use gilbench::runtime::Gil;
use gilbench::strategy::pool::{Job, Shared, ThreadPool};

fn gil(c: &mut Criterion) {
    let g = Gil::new(Duration::from_millis(5));
    c.bench_function("gil_uncontended_take_drop", |b| {
        b.iter(|| {
            g.take();
            g.drop_lock();
        })
    });
}

fn dispatch(c: &mut Criterion) {
    // The fixed strategy's pool with 4 workers: per-task cost of queueing an empty task,
    // waking a worker and counting its completion, over batches of `iters` tasks.
    c.bench_function("fixed_pool_dispatch_per_task", |b| {
        b.iter_custom(|iters| {
            let done = Arc::new(AtomicU64::new(0));
            let d = done.clone();
            let queue = Arc::new(Shared::default());
            let pool = ThreadPool::start(4, queue.clone(), move |_, _| {
                d.fetch_add(1, Ordering::Release);
            })
            .unwrap();
            let t0 = Instant::now();
            for index in 0..iters {
                queue.push(Job { index, queued_at: t0 });
            }
            while done.load(Ordering::Acquire) < iters {
                std::hint::spin_loop();
            }
            let took = t0.elapsed();
            pool.join();
            took
        })
    });
}

/// The paper's instrumentation table, with this harness's clocks: what each task pays to be
/// measured. The combined pattern is what a task does around its work (see runtime/task.rs):
/// wall clock and thread CPU clock at the start, thread CPU clock, run-queue counter and wall
/// clock at the end; `+runq` adds the schedstat reads that split waiting from blocking.
fn instrumentation(c: &mut Criterion) {
    let mut g = c.benchmark_group("instrumentation");
    g.bench_function("noop_baseline", |b| b.iter(|| black_box(0u64)));
    g.bench_function("wall_clock_read", |b| b.iter(|| black_box(Instant::now())));
    g.bench_function("thread_cpu_clock_read", |b| b.iter(|| black_box(workloads::thread_cpu_time())));
    g.bench_function("combined_per_task", |b| {
        b.iter(|| {
            let t0 = Instant::now();
            let c0 = workloads::thread_cpu_time();
            let cpu = workloads::thread_cpu_time().saturating_sub(c0);
            black_box((cpu, t0.elapsed()))
        })
    });
    g.bench_function("combined_per_task+runq", |b| {
        b.iter(|| {
            let t0 = Instant::now();
            let c0 = workloads::thread_cpu_time();
            let r0 = sched::runq_wait();
            let cpu = workloads::thread_cpu_time().saturating_sub(c0);
            let runq = sched::runq_wait().saturating_sub(r0);
            black_box((cpu, runq, t0.elapsed()))
        })
    });
    g.finish();
}

/// One decision of each adaptive controller on a typical mid-run sample.
fn decision(c: &mut Criterion) {
    let sample = Sample {
        t_s: 5.0,
        interval_s: 0.25,
        threads: 16,
        queue_len: 40,
        completed: 500,
        beta: Some(0.8),
        lock_wait_frac: Some(0.2),
        runq_wait_frac: Some(0.05),
        cpu_util: 0.9,
        cores: 1,
        memory_frac: None,
    };
    for name in ControllerSpec::NAMES {
        let mut ctl: Box<dyn Controller> = ControllerSpec::default_for(name).expect("a known name").build();
        c.bench_function(&format!("controller_decision/{name}"), |b| {
            b.iter(|| black_box(ctl.decide(black_box(&sample))))
        });
    }
}

/// One handoff of the emulated GIL between two threads that both want it: the time from one
/// thread dropping the lock to the other running with it, measured as a round trip / 2.
fn gil_handoff(c: &mut Criterion) {
    c.bench_function("gil_handoff_two_threads", |b| {
        b.iter_custom(|iters| {
            let g = Arc::new(Gil::new(Duration::from_millis(5)));
            let turn = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let (g2, turn2, stop2) = (g.clone(), turn.clone(), stop.clone());
            // The partner takes the lock on odd turns and passes it back.
            let partner = std::thread::spawn(move || loop {
                g2.take();
                let t = turn2.load(Ordering::Acquire);
                if stop2.load(Ordering::Acquire) {
                    g2.drop_lock();
                    return;
                }
                if t % 2 == 1 {
                    turn2.store(t + 1, Ordering::Release);
                }
                g2.drop_lock();
            });
            let t0 = Instant::now();
            let mut handoffs = 0;
            while handoffs < iters {
                g.take();
                let t = turn.load(Ordering::Acquire);
                if t % 2 == 0 {
                    turn.store(t + 1, Ordering::Release);
                    handoffs += 1;
                }
                g.drop_lock();
            }
            let took = t0.elapsed();
            stop.store(true, Ordering::Release);
            partner.join().expect("partner thread");
            took / 2
        })
    });
}

// No criterion plots: its plotters backend panics where no system font is found, and
// `gilbench report --criterion` draws the overhead figure from the estimates itself.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = instrumentation, decision, gil, gil_handoff, dispatch
}
criterion_main!(benches);

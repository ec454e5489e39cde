//! Costs the harness adds to what it measures: one uncontended take/drop of the emulated
//! GIL (target < 100 ns) and the fixed pool's dispatch per task (target < 2 us).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
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

criterion_group!(benches, gil, dispatch);
criterion_main!(benches);

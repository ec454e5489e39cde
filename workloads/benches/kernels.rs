//! Per-call cost of each kernel unit, to check a phase's `work_us` against what the kernel
//! really costs here.
use criterion::{criterion_group, criterion_main, Criterion};
use workloads::Kernel;

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel_unit");
    for k in Kernel::ALL {
        g.bench_function(k.name(), |b| b.iter(|| k.run(1)));
    }
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);

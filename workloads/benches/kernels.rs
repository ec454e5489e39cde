//! Per-call cost of each kernel unit, to check a phase's `work_us` against what the kernel
//! really costs here (and that one unit stays a few microseconds), and of one whole job of
//! each edge-AI kernel (a passage, a frame, an image's head, a second of audio).
use criterion::{criterion_group, criterion_main, Criterion};
use workloads::kernels::{audio, preprocess, softmax, tokenize};
use workloads::Kernel;

fn units(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel_unit");
    for k in Kernel::ALL {
        k.run(1); // build the standard input outside the measurement
        g.bench_function(k.name(), |b| b.iter(|| k.run(1)));
    }
    g.finish();
}

fn jobs(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel_job");
    let jobs = [
        (Kernel::Tokenize, "passage_16_sentences", tokenize::UNITS_PER_JOB),
        (Kernel::Preprocess, "frame_224x224", preprocess::UNITS_PER_JOB),
        (Kernel::SoftmaxTopk, "image_1000_classes", softmax::UNITS_PER_JOB),
        (Kernel::AudioFeatures, "audio_1s_98_frames", audio::UNITS_PER_JOB),
    ];
    for (k, job, n) in jobs {
        k.run(1);
        g.bench_function(format!("{}/{job}", k.name()), |b| b.iter(|| k.run(n)));
    }
    g.finish();
}

criterion_group!(benches, units, jobs);
criterion_main!(benches);

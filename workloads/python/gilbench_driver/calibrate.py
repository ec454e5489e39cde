"""Calibration: units of a kernel per microsecond on an uncontended core, best of three 20 ms
trials (as workloads/src/calibrate.rs). CPU kernels are timed on the thread CPU clock, so
preemption during calibration does not inflate the estimate; native kernels on the wall
clock, since ONNX Runtime or BLAS may do their work on their own threads."""

import time

TRIAL_S = 0.02
TRIALS = 3


def units_per_us(run, cpu_clock=True, trial_s=TRIAL_S, trials=TRIALS):
    clock = time.thread_time if cpu_clock else time.perf_counter
    run(1)  # first call may build caches: not part of a unit
    batch = 1
    while True:
        t0 = clock()
        run(batch)
        if (clock() - t0) * 8 >= trial_s or batch >= 1 << 30:
            break
        batch *= 2
    best = 0.0
    for _ in range(max(1, trials)):
        t0 = clock()
        units = 0
        while clock() - t0 < trial_s:
            run(batch)
            units += batch
        us = (clock() - t0) * 1e6
        best = max(best, units / us)
    return best


def native_matmul_units_per_us(mm, work_us, trial_s=TRIAL_S, trials=TRIALS):
    """BLAS speed depends on the matrix size (caches), so measure at the size the phase will
    use: a first estimate on a 128x128 product (8 units of 64x64), then two refinements timing
    the product of the size that estimate gives for `work_us` (best of `trials`)."""
    probe = 8.0

    def run(k):
        for _ in range(k):
            mm.run(probe)

    upu = units_per_us(run, cpu_clock=False, trial_s=trial_s, trials=trials) * probe
    for _ in range(2):
        n = mm.size_for(work_us * upu)
        units = (n / mm.BASE) ** 3
        best = float("inf")
        for _ in range(max(1, trials)):
            t0 = time.perf_counter()
            mm.run(units)
            best = min(best, time.perf_counter() - t0)
        upu = units / max(best * 1e6, 1e-3)
    return upu

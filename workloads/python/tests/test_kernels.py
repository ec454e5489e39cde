import time
import unittest

from helpers import sys  # noqa: F401  (sets sys.path)
from gilbench_driver import calibrate, kernels, phases


class Kernels(unittest.TestCase):
    def test_every_cpu_kernel_calibrates_and_runs_its_work(self):
        for name, (prep, run) in kernels.CPU.items():
            with self.subTest(kernel=name):
                prep()
                self.assertEqual(run(3), run(0) ^ run(3) ^ run(0)) if name == "arith" else run(3)
                upu = calibrate.units_per_us(run, trial_s=0.005, trials=2)
                self.assertGreater(upu, 0)
                units = max(1, round(2000 * upu))
                t0 = time.thread_time()
                run(units)
                took_us = (time.thread_time() - t0) * 1e6
                # CPU time, loose on purpose (unit sizes vary a little along the input).
                self.assertTrue(500 < took_us < 8000, f"{name}: 2000 us of work took {took_us:.0f} us")

    def test_arith_known_answers(self):
        # Same recurrence as workloads/src/kernels/arith.rs: one unit = 64 iterations.
        x, m = 0, (1 << 64) - 1
        for i in range(128):
            x = (((x << 5) | (x >> 59)) & m) ^ ((i * i) & m)
        self.assertEqual(kernels.arith_run(2), x)

    def test_plan_and_task(self):
        ph = [("cpu", "json", 300.0), ("io", ("uniform", 0.1, 0.2)), ("alloc", 1.0)]
        phases.prepare(ph)
        cal = phases.calibrate_all(ph)
        self.assertEqual([c["kernel"] for c in cal], ["json"])
        plan = phases.make_plan(ph, cal)
        self.assertEqual(plan[1], ("io", ("uniform", 0.1, 0.2)))
        self.assertEqual(plan[2], ("alloc", 1024 * 1024))
        phases.run_task(phases.bind(plan), 1, 0)

    def test_native_matmul_releases_work_to_numpy(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.fail("numpy missing: run scripts/setup-cpython <interpreter>")
        ph = [("native", "matmul", 2000.0)]
        phases.prepare(ph)
        plan = phases.make_plan(ph, phases.calibrate_all(ph))
        steps = phases.bind(plan)
        took = []
        for _ in range(3):
            t0 = time.perf_counter()
            steps[0][1](steps[0][2])
            took.append(time.perf_counter() - t0)
        took_us = min(took) * 1e6
        self.assertTrue(300 < took_us < 20000, f"2000 us of native matmul took {took_us:.0f} us")

    def test_rng_matches_the_rust_splitmix(self):
        from gilbench_driver.measure import Rng
        r = Rng(1)
        # SplitMix64 reference values for seed 1.
        self.assertEqual(r.next_u64(), 0x910A2DEC89025CC1)
        self.assertEqual(r.next_u64(), 0xBEEB8DA1658EEC67)


if __name__ == "__main__":
    unittest.main()

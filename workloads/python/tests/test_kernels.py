import unittest

from helpers import sys  # noqa: F401  (sets sys.path)
from gilbench_driver import calibrate, kernels, phases


class Kernels(unittest.TestCase):
    def test_every_cpu_kernel_calibrates_and_runs_its_work(self):
        # No timing assertions (shared, noisy machines): calibration gives a positive speed,
        # the plan turns work_us into a unit count proportional to it, and the units run.
        for name, (prep, run) in kernels.CPU.items():
            with self.subTest(kernel=name):
                prep()
                self.assertEqual(run(3), run(0) ^ run(3) ^ run(0)) if name == "arith" else run(3)
                upu = calibrate.units_per_us(run, trial_s=0.005, trials=2)
                self.assertGreater(upu, 0)
                cal = [{"phase": "cpu", "kernel": name, "units_per_us": upu}]
                one = phases.make_plan([("cpu", name, 2000.0)], cal)[0][2]
                two = phases.make_plan([("cpu", name, 4000.0)], cal)[0][2]
                self.assertGreaterEqual(one, 1)
                self.assertLessEqual(abs(two - 2 * one), 1)
                run(one)

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

    def test_native_matmul_runs_in_numpy(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.fail("numpy missing: run scripts/setup-cpython <interpreter>")
        ph = [("native", "matmul", 2000.0)]
        phases.prepare(ph)
        cal = phases.calibrate_all(ph)
        self.assertEqual([(c["phase"], c["kernel"]) for c in cal], [("native", "matmul")])
        self.assertGreater(cal[0]["units_per_us"], 0)
        plan = phases.make_plan(ph, cal)
        self.assertEqual(plan[0][:2], ("native", "matmul"))
        self.assertGreater(plan[0][2], 0)
        steps = phases.bind(plan)
        steps[0][1](steps[0][2])

    def test_rng_matches_the_rust_splitmix(self):
        from gilbench_driver.measure import Rng
        r = Rng(1)
        # SplitMix64 reference values for seed 1.
        self.assertEqual(r.next_u64(), 0x910A2DEC89025CC1)
        self.assertEqual(r.next_u64(), 0xBEEB8DA1658EEC67)


if __name__ == "__main__":
    unittest.main()

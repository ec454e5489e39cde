"""Whole points through driver.py, short ones."""

import unittest

from helpers import point, run_driver


class Points(unittest.TestCase):
    def ok(self, spec, env=None, timeout=60):
        code, out, _, err = run_driver(spec, env=env, timeout=timeout)
        self.assertEqual(code, 0, f"{out} {err[-2000:]}")
        self.assertIs(out["ok"], True)
        return out

    def check_sane(self, out, tasks=None):
        if tasks is not None:
            self.assertEqual(out["tasks"], tasks)
        self.assertEqual(len(out["service_us"]), out["tasks"])
        self.assertEqual(len(out["response_us"]), out["tasks"])
        self.assertTrue(all(r >= s for s, r in zip(out["service_us"], out["response_us"])))
        self.assertTrue(0.0 <= out["beta_mean"] <= 1.0)
        self.assertIsNone(out["lock_wait_frac"])
        self.assertGreater(out["elapsed_s"], 0)
        self.assertGreater(out["cpu_s"], 0)
        self.assertGreater(out["peak_rss_mb"], 1)
        self.assertEqual(out["interpreter"]["implementation"], "cpython")
        for k in ("spawn_ms", "ctx_voluntary", "ctx_involuntary", "runq_wait_frac", "calibration", "timeline"):
            self.assertIn(k, out)

    def test_fixed_pool_micro(self):
        out = self.ok(point(threads=4, tasks={"count": 200}))
        self.check_sane(out, 200)
        self.assertEqual(out["tasks_unfinished"], 0)
        self.assertEqual(out["timeline"], [])
        self.assertEqual(out["calibration"][0]["kernel"], "arith")
        # 25 us of CPU then a 0.1 ms sleep: mostly blocking, never pure CPU.
        self.assertGreater(out["beta_mean"], 0.2)
        self.assertGreater(min(out["service_us"]), 100)

    def test_time_budget_closes_the_window(self):
        out = self.ok(point(threads=2, tasks={"duration": {"secs": 0, "nanos": 300_000_000}}))
        self.check_sane(out)
        self.assertAlmostEqual(out["elapsed_s"], 0.3, places=6)
        self.assertGreater(out["tasks"], 50)

    def test_async(self):
        out = self.ok(point(strategy={"async": {"offload_native": False}}, threads=8, tasks={"count": 100}))
        self.check_sane(out, 100)

    def test_process_pool(self):
        out = self.ok(point(strategy={"process": {"interpreter_rss_mb": 13.5}}, threads=2, tasks={"count": 100}))
        self.check_sane(out, 100)
        self.assertIsNotNone(out["pss_mb"])
        self.assertGreater(out["peak_rss_mb"], 20, "RSS is summed over the driver and its workers")

    def test_process_worker_crash_is_an_error_not_a_hang(self):
        code, out, took, err = run_driver(
            point(strategy={"process": {}}, threads=2, tasks={"count": 200}),
            env={"GILBENCH_WORKER_CRASH_AT": "50"}, timeout=30)
        self.assertEqual(code, 2, err)
        self.assertIs(out["ok"], False)
        self.assertIn("died", out["error"])
        self.assertIn("exit code 3", out["error"])
        self.assertIn("task 50", out["error"])

    def test_elastic_paper_has_a_timeline(self):
        out = self.ok(point(strategy={"adaptive-paper": {"interval_s": 0.1}}, threads=0,
                            tasks={"duration": {"secs": 0, "nanos": 600_000_000}}))
        self.check_sane(out)
        tl = out["timeline"]
        self.assertGreaterEqual(len(tl), 3)
        for row in tl:
            self.assertIn(row["decision"], ("hold", "grow", "shrink", "veto", "warmup"))
            self.assertGreaterEqual(row["target"], 4)
        self.assertEqual(tl[0]["threads"], 4)

    def test_betapool_library_runs(self):
        try:
            import betapool  # noqa: F401
        except ImportError:
            self.fail("betapool missing: run scripts/setup-cpython <interpreter>")
        out = self.ok(point(strategy={"adaptive-betapool": {"interval_s": 0.1, "stabilization_s": 0.2}},
                            threads=0, tasks={"duration": {"secs": 0, "nanos": 800_000_000}}))
        self.check_sane(out)
        self.assertEqual(out["betapool_version"], "1.0.2")
        self.assertGreaterEqual(len(out["timeline"]), 3)
        self.assertTrue(any(r["decision"] != "warmup" for r in out["timeline"]))


if __name__ == "__main__":
    unittest.main()

"""The controller ports against the scripted sequences of the Rust unit tests
(harness/src/controller/{paper,queue,ours}.rs), and the decide CLI."""

import json
import unittest

from helpers import run_driver
from gilbench_driver.controllers import OursController, PaperController, QueueScaler, BetapoolController
from gilbench_driver.controllers import SETTLED, _Est, _Meas


def ps(queue_len, beta):
    return dict(t_s=0.0, interval_s=0.5, threads=4, queue_len=queue_len, completed=10, beta=beta,
                lock_wait_frac=None, runq_wait_frac=None, cpu_util=0.5, cores=1)


def os_(threads, queue_len, completed, beta, wait):
    return dict(t_s=0.0, interval_s=0.25, threads=threads, queue_len=queue_len, completed=completed, beta=beta,
                lock_wait_frac=None if beta is None else wait, runq_wait_frac=None if beta is None else 0.0,
                cpu_util=0.5, cores=1)


def drive(c, n, count, make):
    out = []
    for _ in range(count):
        st = c.decide(make(n))
        n = st["target"]
        out.append(st)
    return out


class Paper(unittest.TestCase):
    def test_ewma_arithmetic_is_exact(self):
        c = PaperController()
        self.assertAlmostEqual(c.decide(ps(10, 0.9))["beta_ewma"], 0.58, places=12)
        s = c.decide(ps(10, 0.1))
        self.assertAlmostEqual(s["beta_ewma"], 0.2 * 0.1 + 0.8 * 0.58, places=12)
        self.assertEqual(c.decide(ps(10, None))["beta_ewma"], s["beta_ewma"])
        self.assertEqual(c.decide(ps(10, float("nan")))["beta_ewma"], s["beta_ewma"])

    def test_grows_only_on_the_hth_high_interval_with_a_queue(self):
        c = PaperController()
        self.assertEqual(c.initial_threads(4), 4)
        d = [c.decide(ps(100, 0.9)) for _ in range(6)]
        self.assertEqual([s["target"] for s in d], [4, 4, 5, 5, 5, 6])
        self.assertEqual(d[2]["decision"], "grow")
        self.assertEqual(d[1]["decision"], "hold")
        self.assertEqual(d[5]["vetoes"], 0)

    def test_veto_below_threshold_counts_and_resets_hysteresis(self):
        c = PaperController()
        c.decide(ps(100, 0.9))
        c.decide(ps(100, 0.9))
        self.assertEqual(c.c_up, 2)
        while True:
            s = c.decide(ps(100, 0.0))
            if s["decision"] == "veto":
                self.assertEqual((s["vetoes"], s["target"], c.c_up), (1, c.n, 0))
                break
            self.assertGreater(s["beta_ewma"], 0.3)
        s = c.decide(ps(100, 0.0))
        self.assertEqual((s["decision"], s["vetoes"]), ("veto", 2))
        self.assertEqual(PaperController({"beta_init": 0.3}).decide(ps(1, None))["decision"], "veto")

    def test_counter_restarts_after_veto(self):
        c = PaperController({"alpha": 1.0})
        c.decide(ps(1, 0.9))
        c.decide(ps(1, 0.9))
        c.decide(ps(1, 0.1))
        self.assertEqual([c.decide(ps(1, 0.9))["target"] for _ in range(3)], [4, 4, 5])

    def test_shrinks_by_one_on_empty_queue_never_below_min(self):
        c = PaperController({"alpha": 1.0, "hysteresis": 1})
        for _ in range(3):
            c.decide(ps(5, 0.9))
        self.assertEqual(c.n, 7)
        self.assertEqual([c.decide(ps(0, 0.9))["target"] for _ in range(5)], [6, 5, 4, 4, 4])
        self.assertEqual(c.decide(ps(0, 0.9))["decision"], "hold")

    def test_never_above_max(self):
        c = PaperController({"alpha": 1.0, "hysteresis": 1})
        for _ in range(501):
            last = c.decide(ps(5, 0.9))
            self.assertLessEqual(last["target"], 128)
        self.assertEqual((last["target"], last["decision"]), (128, "hold"))


class Queue(unittest.TestCase):
    def test_grows_with_the_queue_and_shrinks_when_idle(self):
        q = QueueScaler()
        self.assertEqual(q.initial_threads(1), 4)
        self.assertEqual(q.decide(ps(10, 0.1))["target"], 9)
        self.assertEqual(q.decide(ps(1000, 0.1))["target"], 256)
        self.assertEqual(q.decide(ps(0, 0.1))["decision"], "hold")
        s = q.decide(ps(0, 0.1))
        self.assertEqual((s["target"], s["decision"]), (255, "shrink"))
        for _ in range(1000):
            q.decide(ps(0, 0.1))
        self.assertEqual(q.decide(ps(0, 0.1))["target"], 4)


class Betapool(unittest.TestCase):
    def test_warmup_then_grow_then_stabilisation(self):
        c = BetapoolController()
        self.assertEqual(c.decide(dict(ps(100, 0.9), completed=5, cpu_util=0.1))["decision"], "warmup")
        s = c.decide(dict(ps(100, 0.9), completed=5, cpu_util=0.1))
        self.assertEqual((s["decision"], s["target"]), ("grow", 6))
        # One change per 2 s: three more 0.5 s intervals hold, the fourth may change.
        d = [c.decide(dict(ps(100, 0.9), cpu_util=0.1))["decision"] for _ in range(4)]
        self.assertEqual(d, ["hold", "hold", "hold", "grow"])


class Ours(unittest.TestCase):
    def test_zero_completion_intervals_are_not_a_drop(self):
        c = OursController()
        n = c.initial_threads(4)
        self.assertEqual(n, 8)
        steps = drive(c, n, 20, lambda n: os_(n, 100, 0, None, 0.0))
        self.assertTrue(all(s["target"] == 8 and s["decision"] == "warmup" for s in steps))
        steps = drive(c, 8, 4, lambda n: os_(n, 100, 1, 0.99, 0.0))
        self.assertTrue(all(s["target"] == 8 for s in steps[:3]), steps)
        self.assertEqual((steps[3]["decision"], steps[3]["target"]), ("grow", 64))
        steps = drive(c, 64, 30, lambda n: os_(n, 100, 0, None, 0.0))
        self.assertTrue(all(s["target"] == 64 and s["decision"] == "hold" and s["vetoes"] == 0 for s in steps))

    def test_contention_vetoes_growth_and_probes_down(self):
        c = OursController()
        steps = drive(c, c.initial_threads(4), 6, lambda n: os_(n, 100, 50, 0.875, 0.875))
        first = next(s for s in steps if s["decision"] != "warmup")
        self.assertEqual((first["decision"], first["target"]), ("shrink", 2))

        c = OursController()
        steps = drive(c, c.initial_threads(4), 6, lambda n: os_(n, 100, 50, 0.99, 0.0))
        first = next(s for s in steps if s["decision"] != "warmup")
        self.assertEqual((first["decision"], first["target"]), ("grow", 64))
        veto = None
        for _ in range(24):
            st = c.decide(os_(64, 100, 40, 0.99, 0.6))
            if st["decision"] == "veto":
                veto = st
                break
            self.assertEqual(st["target"], 64)
        self.assertIsNotNone(veto, "a veto within 6 s")
        self.assertEqual((veto["target"], veto["vetoes"]), (8, 1))
        steps = drive(c, 8, 8, lambda n: os_(n, 100, 50, 0.85, 0.8))
        veto = next(s for s in steps if s["decision"] == "veto")
        self.assertEqual(veto["vetoes"], 2)
        self.assertLess(veto["target"], 8)

    def test_revisits_only_a_step_refused_one_step_up_with_the_lock_free_there(self):
        # As ours/tests.rs: settled at 6 (fresh estimate 96), 9 refused at 111.
        def settled(refused=9, lock_at_refused=0.0):
            c = OursController()
            c.table = [(6, _Est(96.0, 1.0), 0.0), (refused, _Est(111.0, 3.0), lock_at_refused)]
            c.refused = [refused]
            c.target = 6
            c.mode = (SETTLED, 3, None)
            return c

        m = _Meas(6, 96.0, 1.0, 0.75, 0.73, lock=0.0, cpu_util=0.93)
        now = _Est(96.0, 1.0)
        self.assertEqual(settled()._revisit(now, m, True), 9)
        self.assertIsNone(settled(lock_at_refused=0.45)._revisit(now, m, True))
        self.assertIsNone(settled(refused=14)._revisit(now, m, True))

    def test_shrinks_on_an_empty_queue_never_below_min(self):
        c = OursController({"n_min": 2})
        n = c.initial_threads(4)
        self.assertEqual(n, 8)
        targets = []
        for _ in range(30):
            s = dict(os_(n, 0, 10, 0.5, 0.0), cpu_util=0.01, cores=4)
            n = c.decide(s)["target"]
            targets.append(n)
        self.assertEqual(targets[:3], [8, 8, 4])
        self.assertEqual(targets[-1], 2)
        c = OursController()
        s = dict(os_(8, 0, 10, 0.5, 0.0), cpu_util=1.0, cores=4)
        for _ in range(10):
            self.assertEqual(c.decide(s)["target"], 8)

    def test_follows_a_pool_that_cannot_reach_the_target(self):
        c = OursController()
        steps = drive(c, c.initial_threads(4), 6, lambda n: os_(n, 100, 50, 0.99, 0.0))
        self.assertEqual(steps[-1]["target"], 64)
        for _ in range(9):
            c.decide(os_(8, 100, 50, 0.99, 0.0))
        self.assertEqual(c.target, 8)

    def test_rust_rounding_and_unknown_params(self):
        c = OursController({"initial_per_core": 2.5})
        self.assertEqual(c.initial_threads(1), 4)  # round(2.5) = 3 (half away from zero), min 4
        self.assertEqual(OursController({"initial_per_core": 2.5, "initial_min": 1}).initial_threads(1), 3)
        with self.assertRaises(ValueError):
            OursController({"bogus": 1})

    def test_degenerate_samples_never_break_any_controller(self):
        for cls in (PaperController, QueueScaler, BetapoolController, OursController):
            c = cls()
            t = 0.0
            for i in range(200):
                t += 0.5
                s = dict(t_s=float("nan") if i == 50 else t, interval_s=0.0 if i % 7 == 0 else 0.5, threads=i % 5,
                         queue_len=(i % 3) * 1000, completed=i % 4,
                         beta=[None, float("nan"), 2.0, -1.0][i % 4],
                         lock_wait_frac=None if i % 2 == 0 else float("inf"), runq_wait_frac=0.5,
                         cpu_util=float("nan") if i % 3 == 0 else 1.5, cores=i % 3)
                st = c.decide(s)
                self.assertTrue(1 <= st["target"] <= 1024, (cls.name, st))
                if st["beta_ewma"] is not None:
                    self.assertTrue(0.0 <= st["beta_ewma"] <= 1.0)


class DecideCli(unittest.TestCase):
    def test_cli_matches_the_in_process_port(self):
        samples = [os_(8, 100, 50, 0.99, 0.0) for _ in range(6)] + [os_(64, 100, 40, 0.99, 0.6) for _ in range(24)]
        text = "\n".join(json.dumps(s) for s in samples) + "\n"
        code, out, _, err = run_driver(text, args=("decide", "--controller", "adaptive"))
        self.assertEqual(code, 0, err)
        got = [json.loads(line) for line in out.splitlines()] if isinstance(out, str) else [out]
        c = OursController()
        want = [dict(c.decide(s)) for s in samples]
        self.assertEqual(got, want)
        self.assertEqual(set(got[0]), {"target", "decision", "beta_ewma", "vetoes"})

    def test_cli_params_and_errors(self):
        code, out, _, _ = run_driver(json.dumps(ps(5, 0.9)) + "\n",
                                     args=("decide", "--controller", "adaptive-paper", "--params",
                                           '{"hysteresis": 1, "alpha": 1.0}'))
        self.assertEqual((code, out["decision"], out["target"]), (0, "grow", 5))
        code, out, _, _ = run_driver("", args=("decide", "--controller", "nope"))
        self.assertEqual(code, 2)
        self.assertIn("nope", out["error"])
        code, out, _, _ = run_driver("", args=("decide", "--controller", "adaptive", "--initial-threads", "2"))
        self.assertEqual(out, {"initial_threads": 4, "interval_s": 0.25})


if __name__ == "__main__":
    unittest.main()

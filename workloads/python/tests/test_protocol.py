import json
import unittest

from helpers import point, run_driver


class Protocol(unittest.TestCase):
    def assert_error(self, stdin, *needles):
        code, out, took, err = run_driver(stdin)
        self.assertEqual(code, 2, err)
        self.assertIsInstance(out, dict, f"stdout must be one JSON object, got {out!r}")
        self.assertIs(out["ok"], False)
        for n in needles:
            self.assertIn(n, out["error"])
        return took

    def test_malformed_json_fails_fast(self):
        took = self.assert_error("{not json", "malformed")
        self.assertLess(took, 1.0 + 1.0, "a malformed spec must fail promptly")  # + interpreter start

    def test_truncated_and_empty_specs(self):
        text = json.dumps(point())
        self.assert_error(text[: len(text) // 2], "malformed")
        self.assert_error("", "empty")

    def test_missing_field_is_named(self):
        p = point()
        del p["threads"]
        self.assert_error(p, "threads")
        p = point()
        del p["workload"]["phases"]
        self.assert_error(p, "workload.phases")

    def test_unknown_kernel_and_strategy(self):
        p = point()
        p["workload"]["phases"][0]["cpu"]["kernel"] = "nope"
        self.assert_error(p, "nope", "workload.phases[0]")
        self.assert_error(point(strategy="warp-drive"), "warp-drive")
        p = point()
        p["workload"]["phases"] = [{"native": {"kernel": "arith", "work_us": 10}}]
        self.assert_error(p, "cannot release the GIL")

    def test_bad_controller_parameter_is_named(self):
        self.assert_error(point(strategy={"adaptive-paper": {"beta_tresh": 0.4}}, threads=0), "beta_tresh")


if __name__ == "__main__":
    unittest.main()

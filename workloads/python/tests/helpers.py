"""Shared by the tests: run driver.py in this interpreter with a spec on stdin."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "..", "driver.py")
sys.path.insert(0, os.path.join(HERE, ".."))

MICRO = {
    "scenario": "test", "device": {"name": "t", "cpus": 1, "memory_mb": None, "cpu_quota": None},
    "runtime_name": "cpython-test", "runtime": {"kind": "cpython", "interpreter": "test"},
    "workload": {"name": "micro", "description": None,
                 "phases": [{"cpu": {"kernel": "arith", "work_us": 25.0}}, {"io": {"fixed_ms": 0.1}}],
                 "tasks": None, "arrival": None},
    "strategy": "fixed", "threads": 4, "rep": 0, "tasks": {"count": 200}, "arrival": "batch",
    "onnx": {"model": None, "intra_op_threads": 1}, "seed": 16341515176768936434,
    "time_limit": {"secs": 60, "nanos": 0},
}


def point(**changes):
    p = json.loads(json.dumps(MICRO))
    p.update(changes)
    return p


def run_driver(stdin, args=("run",), env=None, timeout=60):
    """(exit code, parsed stdout or raw text, seconds taken)."""
    e = dict(os.environ)
    e.update(env or {})
    data = stdin if isinstance(stdin, (bytes, str)) else json.dumps(stdin)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, DRIVER, *args], input=data if isinstance(data, bytes) else data.encode(),
                       capture_output=True, timeout=timeout, env=e)
    took = time.monotonic() - t0
    out = r.stdout.decode()
    try:
        parsed = json.loads(out)
    except ValueError:
        parsed = out
    return r.returncode, parsed, took, r.stderr.decode()

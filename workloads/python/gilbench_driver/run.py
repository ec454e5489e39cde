"""`driver.py run`: spec in, one record out."""

import os
import sys
import sysconfig
import time
import traceback

from . import phases, protocol
from .protocol import SpecError
from .strategies.common import Point, PointFailed


def interpreter_info():
    gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "implementation": sys.implementation.name,
        "free_threaded": gil_disabled,
        "gil_enabled": bool(is_enabled()) if is_enabled is not None else True,
    }


def log(msg):
    print(f"driver: {msg}", file=sys.stderr, flush=True)


def run_point(spec):
    kind = spec.strategy[0]
    if kind == "process":
        from .strategies import process
        return process.run(spec)
    # Threads and the event loop share this process's kernels: prepare and calibrate here.
    t0 = time.perf_counter()
    phases.prepare(spec.phases, spec.onnx_model, spec.intra_op_threads)
    calibration = phases.calibrate_all(spec.phases)
    plan = phases.make_plan(spec.phases, calibration)
    log(f"prepared and calibrated in {time.perf_counter() - t0:.2f} s: plan {plan}")
    pt = Point(spec, plan, calibration)
    if kind == "fixed":
        from .strategies import threads
        return threads.run(pt)
    if kind == "async":
        from .strategies import aio
        return aio.run(pt, spec.strategy[1]["offload_native"])
    _, name, params = spec.strategy
    if name == "adaptive-betapool":
        from .strategies import betapool_peer
        return betapool_peer.run(pt, params)
    from .strategies import elastic
    return elastic.run(pt, name, params)


def main():
    """Exit codes: 0 with {"ok": true, ...}; 2 with {"ok": false, "error": ...}."""
    try:
        spec = protocol.parse_point(protocol.read_stdin())
        out = run_point(spec)
        out["interpreter"] = interpreter_info()
        code = 0
    except (SpecError, PointFailed) as e:
        out, code = protocol.error(str(e)), 2
    except MemoryError:
        out, code = protocol.error("out of memory (MemoryError) in the driver"), 2
    except Exception as e:  # a bug: say where, on stderr, and fail the point clearly
        traceback.print_exc(file=sys.stderr)
        out, code = protocol.error(f"driver failed: {type(e).__name__}: {e}"), 2
    protocol.emit(out)
    sys.stderr.flush()
    # Abandoned tasks may still be running on pool threads: do not wait for them.
    os._exit(code)

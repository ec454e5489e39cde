"""A workload compiled for one point: phases with calibrated unit counts (the `plan`, plain
tuples so it can be sent to worker processes), and the loop that runs one task.

Plan steps: ("cpu", kernel, units) | ("native", kernel, units) | ("io", latency) | ("alloc", bytes)
"""

import time

from . import calibrate, kernels
from .measure import Rng, sample_ms, task_seed

# Kernels prepared in this process: name -> run(units). Native ones are objects with state.
_bound = {}


def prepare(phases, onnx_model=None, intra_op_threads=1):
    """Builds each used kernel's standard input (and the ONNX session) in this process."""
    for ph in phases:
        if ph[0] == "cpu":
            key = ("cpu", ph[1])
            if key not in _bound:
                prep, run = kernels.CPU[ph[1]]
                prep()
                _bound[key] = run
        elif ph[0] == "native":
            key = ("native", ph[1])
            if key not in _bound:
                if ph[1] == "matmul":
                    _bound[key] = kernels.NativeMatmul().run
                else:
                    _bound[key] = kernels.Mobilenet(onnx_model, intra_op_threads).run


def calibrate_all(phases):
    """[{kernel, units_per_us, phase}] for every kernel the phases use (after prepare)."""
    out, seen = [], set()
    for ph in phases:
        if ph[0] not in ("cpu", "native") or (ph[0], ph[1]) in seen:
            continue
        seen.add((ph[0], ph[1]))
        run = _bound[(ph[0], ph[1])]
        if ph[0] == "native" and ph[1] == "matmul":
            work = max(p[2] for p in phases if p[0] == "native" and p[1] == "matmul")
            upu = calibrate.native_matmul_units_per_us(run.__self__, work)
        else:
            upu = calibrate.units_per_us(run, cpu_clock=(ph[0] == "cpu"))
        out.append({"kernel": ph[1], "phase": ph[0], "units_per_us": upu})
    return sorted(out, key=lambda c: (c["kernel"], c["phase"]))


def make_plan(phases, calibration):
    speed = {(c["phase"], c["kernel"]): c["units_per_us"] for c in calibration}
    plan = []
    for ph in phases:
        if ph[0] == "cpu":
            plan.append(("cpu", ph[1], max(1, int(round(ph[2] * speed[("cpu", ph[1])])))))
        elif ph[0] == "native":
            units = ph[2] * speed[("native", ph[1])]
            if ph[1] == "mobilenetv2":
                units = max(1, int(round(units)))  # whole inferences
            plan.append(("native", ph[1], max(units, 1e-6)))
        elif ph[0] == "io":
            plan.append(("io", ph[1]))
        else:
            plan.append(("alloc", int(ph[1] * 1024 * 1024)))
    return plan


def bind(plan):
    """The plan with its kernels resolved in this process: [(kind, fn_or_arg, units)]."""
    out = []
    for st in plan:
        if st[0] in ("cpu", "native"):
            out.append((st[0], _bound[(st[0], st[1])], st[2]))
        else:
            out.append((st[0], st[1], None))
    return out


def touched(nbytes):
    """Working memory whose every page is written, so it counts in RSS."""
    return b"\x01" * nbytes


def run_task(steps, point_seed, index, sleep=time.sleep):
    """Runs one task synchronously (threads and worker processes)."""
    rng = Rng(task_seed(point_seed, index))
    held = []
    acc = 0
    for kind, a, units in steps:
        if kind == "cpu" or kind == "native":
            acc ^= a(units)
        elif kind == "io":
            sleep(sample_ms(a, rng) / 1000.0)
        else:
            held.append(touched(a))
    del held
    return acc

"""The wire contract with the Rust harness: a Point as JSON on stdin, one JSON object out.

The Point is what `harness/src/scenario/model.rs` serialises; only the fields the driver
needs are validated here, and every error names the field so a bad spec is fixed quickly.
"""

import json
import math
import sys

SETUP_HINT = "run scripts/setup-cpython <interpreter> to create its venv"

CPU_KERNELS = ("arith", "json", "tokenize", "preprocess", "softmax-topk", "audio-features", "matmul")
NATIVE_KERNELS = ("matmul", "mobilenetv2")
ALL_KERNELS = CPU_KERNELS + ("mobilenetv2",)
CONTROLLERS = ("adaptive-paper", "adaptive-betapool", "adaptive", "queue-scaler")


class SpecError(Exception):
    """The spec (or the environment it needs) is unusable; the message says what to do."""


class Spec:
    """A validated point: plain attributes, no behaviour."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _get(obj, key, where, kind=None):
    if not isinstance(obj, dict):
        raise SpecError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise SpecError(f"missing field `{where}.{key}`" if where else f"missing field `{key}`")
    v = obj[key]
    if kind is not None and not _is(v, kind):
        raise SpecError(f"field `{_join(where, key)}`: expected {kind}, got {json.dumps(v)[:80]}")
    return v


def _join(where, key):
    return f"{where}.{key}" if where else key


def _is(v, kind):
    if kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    if kind == "integer":
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if kind == "string":
        return isinstance(v, str)
    if kind == "list":
        return isinstance(v, list)
    if kind == "object":
        return isinstance(v, dict)
    raise ValueError(kind)


def _one_key(v, where):
    if not isinstance(v, dict) or len(v) != 1:
        raise SpecError(f"field `{where}`: expected an object with exactly one key, got {json.dumps(v)[:80]}")
    return next(iter(v.items()))


def parse_phase(p, where):
    kind, body = _one_key(p, where)
    if kind in ("cpu", "native"):
        kernel = _get(body, "kernel", f"{where}.{kind}", "string")
        work_us = float(_get(body, "work_us", f"{where}.{kind}", "number"))
        allowed = CPU_KERNELS if kind == "cpu" else NATIVE_KERNELS
        if kernel not in allowed:
            extra = ""
            if kernel in ALL_KERNELS:
                extra = (" (in real CPython this kernel cannot run that way: "
                         + ("onnxruntime always releases the GIL" if kind == "cpu"
                            else "pure-Python code cannot release the GIL") + ")")
            raise SpecError(f"field `{where}.{kind}.kernel`: unknown {kind} kernel {kernel!r}{extra}; "
                            f"expected one of {', '.join(allowed)}")
        return (kind, kernel, work_us)
    if kind == "io":
        lk, lv = _one_key(body, f"{where}.io")
        w = f"{where}.io.{lk}"
        if lk == "fixed_ms":
            if not _is(lv, "number"):
                raise SpecError(f"field `{w}`: expected a number >= 0")
            return ("io", ("fixed", float(lv)))
        if lk == "uniform_ms":
            # The harness serialises a Range as [low, high]; {lo, hi} is accepted too.
            if isinstance(lv, dict):
                lv = [_get(lv, "lo", w, "number"), _get(lv, "hi", w, "number")]
            if not (isinstance(lv, list) and len(lv) == 2 and all(_is(x, "number") for x in lv) and lv[0] <= lv[1]):
                raise SpecError(f"field `{w}`: expected [low, high] with 0 <= low <= high")
            return ("io", ("uniform", float(lv[0]), float(lv[1])))
        if lk == "lognormal":
            med = float(_get(lv, "median_ms", w, "number"))
            sigma = float(_get(lv, "sigma", w, "number"))
            return ("io", ("lognormal", med, sigma))
        raise SpecError(f"field `{where}.io`: unknown latency {lk!r}; expected fixed_ms, uniform_ms or lognormal")
    if kind == "alloc":
        return ("alloc", float(_get(body, "mb", f"{where}.alloc", "number")))
    raise SpecError(f"field `{where}`: unknown phase {kind!r}; expected cpu, io, native or alloc")


def parse_strategy(s):
    """('fixed', {}) | ('process', {...}) | ('async', {'offload_native': b}) | ('elastic', name, params)."""
    if isinstance(s, str):
        if s in ("fixed", "process", "async"):
            return (s, {"offload_native": False} if s == "async" else {})
        if s in CONTROLLERS:
            return ("elastic", s, {})
        raise SpecError(f"field `strategy`: unknown strategy {s!r}; expected fixed, process, async, "
                        + ", ".join(CONTROLLERS))
    key, params = _one_key(s, "strategy")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise SpecError(f"field `strategy.{key}`: expected an object of parameters")
    if key == "async":
        off = params.get("offload_native", False)
        if not isinstance(off, bool):
            raise SpecError("field `strategy.async.offload_native`: expected true or false")
        return ("async", {"offload_native": off})
    if key == "process":
        return ("process", dict(params))
    if key in CONTROLLERS:
        return ("elastic", key, dict(params))
    raise SpecError(f"field `strategy`: unknown strategy {key!r}")


def parse_point(text):
    """Parses and validates the Point JSON; raises SpecError naming what is wrong."""
    if not text.strip():
        raise SpecError("empty input: expected the point's JSON spec on stdin")
    try:
        p = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"malformed point JSON on stdin ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(p, dict):
        raise SpecError("point JSON: expected an object")
    wl = _get(p, "workload", "", "object")
    phases_raw = _get(wl, "phases", "workload", "list")
    if not phases_raw:
        raise SpecError("field `workload.phases`: a workload needs at least one phase")
    phases = [parse_phase(ph, f"workload.phases[{i}]") for i, ph in enumerate(phases_raw)]

    strategy = parse_strategy(_get(p, "strategy", ""))
    threads = _get(p, "threads", "", "integer")
    if strategy[0] != "elastic" and threads < 1:
        raise SpecError("field `threads`: expected an integer >= 1 for a non-elastic strategy")

    tasks = _get(p, "tasks", "")
    tk, tv = _one_key(tasks, "tasks")
    if tk == "count":
        if not _is(tv, "integer"):
            raise SpecError("field `tasks.count`: expected an integer >= 0")
        budget = ("count", tv)
    elif tk == "duration":
        secs = _get(tv, "secs", "tasks.duration", "integer")
        nanos = tv.get("nanos", 0) if isinstance(tv, dict) else 0
        budget = ("duration", secs + nanos / 1e9)
    else:
        raise SpecError(f"field `tasks`: unknown budget {tk!r}; expected count or duration")

    arr = _get(p, "arrival", "")
    if arr == "batch":
        arrival = ("batch",)
    elif isinstance(arr, dict):
        ak, av = _one_key(arr, "arrival")
        rate = float(_get(av, "rate_tps", f"arrival.{ak}", "number"))
        if rate <= 0:
            raise SpecError(f"field `arrival.{ak}.rate_tps`: expected a number > 0")
        if ak == "poisson":
            arrival = ("open", rate, 1)
        elif ak == "bursty":
            arrival = ("open", rate, max(1, _get(av, "burst", "arrival.bursty", "integer")))
        else:
            raise SpecError(f"field `arrival`: unknown arrival {ak!r}; expected batch, poisson or bursty")
    else:
        raise SpecError(f"field `arrival`: expected \"batch\" or an object, got {json.dumps(arr)[:80]}")

    onnx = p.get("onnx") or {}
    if not isinstance(onnx, dict):
        raise SpecError("field `onnx`: expected an object")
    intra = onnx.get("intra_op_threads", 1)
    if not _is(intra, "integer"):
        raise SpecError("field `onnx.intra_op_threads`: expected an integer >= 0")
    seed = _get(p, "seed", "", "integer")
    tl = p.get("time_limit")
    time_limit_s = None
    if isinstance(tl, dict) and "secs" in tl:
        time_limit_s = tl["secs"] + tl.get("nanos", 0) / 1e9
    return Spec(
        workload=wl.get("name", "?"),
        phases=phases,
        strategy=strategy,
        threads=threads,
        budget=budget,
        arrival=arrival,
        onnx_model=onnx.get("model"),
        intra_op_threads=intra,
        seed=seed & 0xFFFFFFFFFFFFFFFF,
        time_limit_s=time_limit_s,
        raw=p,
    )


def read_stdin():
    """Reads stdin to EOF (the harness closes it), so a truncated spec fails at parse, never hangs."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("point spec on stdin is not UTF-8") from None


def emit(obj):
    """The one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.flush()


def error(msg):
    return {"ok": False, "error": msg}

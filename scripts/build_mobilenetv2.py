#!/usr/bin/env python3
"""Build a MobileNetV2 1.0 / 224 ONNX model with seeded random weights.

The topology is the standard one (Sandler et al. 2018, as in torchvision's
mobilenet_v2 with width 1.0):

    stem     Conv 3x3 s2, 32 channels, ReLU6
    17 inverted-residual blocks from the (t, c, n, s) table below:
             [Conv 1x1 expand x t, ReLU6]   (absent when t == 1)
             Conv 3x3 depthwise (group = channels), stride s, ReLU6
             Conv 1x1 linear projection
             Add residual when stride == 1 and in == out
    head     Conv 1x1 1280, ReLU6, GlobalAveragePool, Flatten, Gemm 1280 -> 1000

BatchNorm is folded into the convolutions: every Conv carries a bias and the
graph has no BatchNormalization node. ReLU6 is Clip(x, 0, 6).

Pretrained weights cannot be downloaded here, and the benchmark only needs the
real compute graph, so the weights are random: He-style scaling
(std = sqrt(2 / fan_in)) before ReLU6, LeCun-style (sqrt(1 / fan_in)) for the
linear projections and the classifier, so that activations stay finite.

Input  `input`  float32 [1, 3, 224, 224] (NCHW)
Output `logits` float32 [1, 1000]

The script checks the model with onnx.checker (full_check=True), runs it once
with onnxruntime (shape and finiteness) and writes a JSON sidecar next to the
model with the parameter count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover - message for humans
    sys.exit(f"build_mobilenetv2.py: cannot import onnx ({e}); run scripts/setup to create the venv")

OPSET = 17
IR_VERSION = 8  # accepted by every onnxruntime >= 1.14; opset 17 needs IR >= 8
INPUT_SHAPE = (1, 3, 224, 224)
NUM_CLASSES = 1000
# (expansion t, output channels c, repeats n, first stride s)
INVERTED_RESIDUAL_SETTING = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


class GraphBuilder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.params = 0
        self.counter = 0

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def _init(self, name: str, array: np.ndarray) -> str:
        array = np.ascontiguousarray(array.astype(np.float32))
        self.initializers.append(numpy_helper.from_array(array, name=name))
        self.params += int(array.size)
        return name

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, group: int,
             activation: bool, prefix: str) -> str:
        fan_in = (cin // group) * k * k
        gain = 2.0 if activation else 1.0
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(gain / fan_in)
        # Folded BatchNorm bias: beta - mean * gamma / sqrt(var + eps), small values.
        b = self.rng.standard_normal(cout) * 0.01
        wn = self._init(f"{prefix}.weight", w)
        bn = self._init(f"{prefix}.bias", b)
        pad = k // 2
        y = self._name(f"{prefix}.conv_out")
        self.nodes.append(helper.make_node(
            "Conv", [x, wn, bn], [y], name=f"{prefix}.conv",
            kernel_shape=[k, k], strides=[stride, stride], pads=[pad, pad, pad, pad],
            group=group, dilations=[1, 1]))
        if activation:
            y = self.relu6(y, prefix)
        return y

    def relu6(self, x: str, prefix: str) -> str:
        y = self._name(f"{prefix}.relu6_out")
        self.nodes.append(helper.make_node("Clip", [x, "relu6_min", "relu6_max"], [y],
                                           name=f"{prefix}.relu6"))
        return y

    def add(self, a: str, b: str, prefix: str) -> str:
        y = self._name(f"{prefix}.add_out")
        self.nodes.append(helper.make_node("Add", [a, b], [y], name=f"{prefix}.add"))
        return y


def build_model(seed: int) -> tuple[onnx.ModelProto, int]:
    rng = np.random.default_rng(seed)
    g = GraphBuilder(rng)
    # Clip bounds are shared scalar constants, not learnable parameters.
    clip_bounds = [
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), name="relu6_min"),
        numpy_helper.from_array(np.array(6.0, dtype=np.float32), name="relu6_max"),
    ]

    x = g.conv("input", 3, STEM_CHANNELS, 3, 2, 1, True, "features.0")
    cin = STEM_CHANNELS
    block = 1
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            prefix = f"features.{block}"
            h = x
            if t != 1:
                h = g.conv(h, cin, hidden, 1, 1, 1, True, f"{prefix}.expand")
            h = g.conv(h, hidden, hidden, 3, stride, hidden, True, f"{prefix}.dw")
            h = g.conv(h, hidden, c, 1, 1, 1, False, f"{prefix}.project")
            if stride == 1 and cin == c:
                h = g.add(x, h, prefix)
            x = h
            cin = c
            block += 1
    assert block - 1 == 17, block
    x = g.conv(x, cin, LAST_CHANNELS, 1, 1, 1, True, f"features.{block}")

    pooled = "pool_out"
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled], name="pool"))
    flat = "flatten_out"
    g.nodes.append(helper.make_node("Flatten", [pooled], [flat], name="flatten", axis=1))
    w = rng.standard_normal((NUM_CLASSES, LAST_CHANNELS)) * np.sqrt(1.0 / LAST_CHANNELS)
    b = np.zeros(NUM_CLASSES)
    wn = g._init("classifier.weight", w)
    bn = g._init("classifier.bias", b)
    g.nodes.append(helper.make_node("Gemm", [flat, wn, bn], ["logits"], name="classifier",
                                    alpha=1.0, beta=1.0, transB=1))

    graph = helper.make_graph(
        g.nodes,
        "mobilenetv2_1.0_224",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(INPUT_SHAPE))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, NUM_CLASSES])],
        initializer=g.initializers + clip_bounds,
    )
    model = helper.make_model(
        graph,
        producer_name="gilbench/scripts/build_mobilenetv2.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    model.doc_string = f"MobileNetV2 1.0/224, random weights, seed {seed}, BN folded"
    return model, g.params


def check_with_onnxruntime(path: Path, seed: int) -> dict:
    try:
        import onnxruntime as ort
    except ImportError as e:
        sys.exit(f"build_mobilenetv2.py: cannot import onnxruntime ({e}); run scripts/setup")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(seed + 1).standard_normal(INPUT_SHAPE).astype(np.float32)
    (y,) = sess.run(["logits"], {"input": x})
    if y.shape != (1, NUM_CLASSES):
        sys.exit(f"build_mobilenetv2.py: onnxruntime output shape {y.shape}, expected (1, {NUM_CLASSES})")
    if not np.all(np.isfinite(y)):
        sys.exit("build_mobilenetv2.py: onnxruntime output has non-finite values")
    start = time.perf_counter()
    runs = 20
    for _ in range(runs):
        sess.run(["logits"], {"input": x})
    mean_ms = (time.perf_counter() - start) / runs * 1e3
    return {
        "onnxruntime_version": ort.__version__,
        "check_logits_min": float(y.min()),
        "check_logits_max": float(y.max()),
        "check_latency_ms_1thread": round(mean_ms, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="models/mobilenetv2.onnx", help="output .onnx path")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (numpy default_rng)")
    parser.add_argument("--no-ort-check", action="store_true", help="skip the onnxruntime run")
    args = parser.parse_args()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model, params = build_model(args.seed)
    onnx.checker.check_model(model, full_check=True)

    tmp = out.with_name(out.name + ".tmp")
    onnx.save_model(model, str(tmp))
    os.replace(tmp, out)
    data = out.read_bytes()

    info = {
        "model": out.name,
        "architecture": "MobileNetV2 1.0/224 (BN folded, random weights)",
        "parameter_count": params,
        "seed": args.seed,
        "opset": OPSET,
        "ir_version": IR_VERSION,
        "input": {"name": "input", "shape": list(INPUT_SHAPE), "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, NUM_CLASSES], "dtype": "float32"},
        "nodes": len(model.graph.node),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
    }
    if not args.no_ort_check:
        info.update(check_with_onnxruntime(out, args.seed))
    sidecar = out.with_suffix(".json")
    sidecar.write_text(json.dumps(info, indent=2) + "\n")

    print(f"wrote {out} ({len(data)} bytes, {info['nodes']} nodes, opset {OPSET})")
    print(f"parameter_count {params}")
    if "check_latency_ms_1thread" in info:
        print(f"onnxruntime {info['onnxruntime_version']}: logits [1, {NUM_CLASSES}] finite, "
              f"{info['check_latency_ms_1thread']} ms/inference (1 thread, Python)")
    print(f"wrote {sidecar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Kernels in real CPython, the counterparts of workloads/src/kernels/*.rs.

`cpu` kernels are pure Python (the json kernel uses the stdlib's C accelerator, which holds
the GIL like Python code): they hold the GIL while they run. Units are a few to a few tens of
microseconds in CPython, so that a calibrated `work_us` is met closely (a phase is at least
one unit). `native` kernels release the GIL: numpy matmul and ONNX Runtime MobileNetV2,
imported only when a phase uses them.

Each kernel is `prepare()` (build its standard input once per process) and `run(units)`
returning a checksum, so the work cannot be skipped.
"""

import itertools
import json
import math
import os
import threading

from .protocol import SETUP_HINT, SpecError

_HERE = os.path.dirname(os.path.abspath(__file__))
MASK64 = 0xFFFFFFFFFFFFFFFF


# ---- arith: the paper's pure-Python loop; one unit = 64 iterations ------------------------

def arith_prepare():
    pass


def arith_run(units):
    x = 0
    for i in range(units * 64):
        x = (((x << 5) | (x >> 59)) & MASK64) ^ ((i * i) & MASK64)
    return x


# ---- json: one unit = parse + modify + serialise a ~700-byte chat request ------------------

PAYLOAD = """{"id":"req-7f3a","model":"edge-llm-1b","stream":false,
"messages":[{"role":"system","content":"You are an assistant on an edge gateway. Answer briefly."},
{"role":"user","content":"Summarise the last ten sensor readings and flag anomalies."}],
"tools":[{"type":"function","function":{"name":"read_sensor","parameters":{"type":"object",
"properties":{"sensor_id":{"type":"string"},"window_s":{"type":"integer"}},"required":["sensor_id"]}}}],
"context":{"readings":[21.4,21.5,21.7,22.0,35.9,22.1,21.9,21.8,21.6,21.5],"unit":"C","site":"dock-3"},
"temperature":0.2,"max_tokens":256}"""


def json_prepare():
    pass


def json_run(units):
    acc = 0
    for _ in range(units):
        v = json.loads(PAYLOAD)
        v["max_tokens"] = 512
        acc ^= len(json.dumps(v))
    return acc


# ---- tokenize: byte-pair encoding; one unit = one word of the RAG passage ------------------
# The Rust unit is a sentence (1.2 us in Rust); a sentence is ~200 us of pure Python, so the
# unit here is one word (a piece), encoded by ranked merges as GPT-2-style BPE does.

PASSAGE = (
    "Question: why does the conveyor belt on dock 3 slip after the motor was serviced last week?"
    "\n\nContext: The belt tension must be adjusted when the belt is cold, never straight after a run."
    " Loosen the lock nuts on both sides of the tail pulley before turning the adjusting screws."
    " Turn both screws by the same amount, half a turn at a time, and check the tracking."
    " A belt that is too loose slips on the drive pulley, heats up and wears quickly."
    " A belt that is too tight overloads the bearings and draws more current from the motor."
    " After servicing the motor, check that the drive pulley was refitted in line with the tail pulley."
    " A misaligned pulley pushes the belt to one side, where it rubs against the frame and slips."
    " Measure the vibration at the motor bearing and compare it with the value recorded at installation."
    " If the bearing temperature rises above seventy degrees, stop the motor and check the lubrication."
    " Replace the bearing when its vibration reaches twice the installation value or it sounds higher pitched."
    " Run the belt empty for ten minutes after every adjustment, then check the tension again."
    " Record the new tension, the date and your name in the maintenance log of the conveyor."
    "\n\nAnswer the question using only the context above, in at most three short sentences."
    " If the context does not explain the fault, say that you do not know and suggest a check."
    " Cite the sentence of the manual that supports each step of your answer."
)
MERGES = 256  # base alphabet + 256 merges, about the Rust tokenizer's 512 tokens
_tok = {}
_tok_lock = threading.Lock()
_tok_next = itertools.count()


def _pieces(text):
    """Words with at most one leading space, or single other chars (GPT-2 style)."""
    out, cur = [], ""
    for ch in text:
        if ch.isalnum():
            cur += ch
        else:
            if cur:
                out.append(cur)
            cur = ch if ch == " " else ""
            if ch != " ":
                out.append(ch)
    if cur:
        out.append(cur)
    return out


def _corpus():
    path = os.path.join(_HERE, "..", "..", "src", "kernels", "tokenize_corpus.txt")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return PASSAGE  # a checkout without the Rust sources: train on the passage itself


def tokenize_prepare():
    with _tok_lock:
        if _tok:
            return
        freq = {}
        for p in _pieces(_corpus()):
            freq[p] = freq.get(p, 0) + 1
        words = {w: list(w) for w in freq}
        ranks = {}
        for rank in range(MERGES):
            pairs = {}
            for w, syms in words.items():
                f = freq[w]
                for a, b in zip(syms, syms[1:]):
                    pairs[(a, b)] = pairs.get((a, b), 0) + f
            if not pairs:
                break
            best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
            ranks[best] = rank
            merged = best[0] + best[1]
            for w, syms in words.items():
                i, out = 0, []
                while i < len(syms):
                    if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                        out.append(merged)
                        i += 2
                    else:
                        out.append(syms[i])
                        i += 1
                words[w] = out
        vocab = {s: i for i, s in enumerate(sorted({c for w in freq for c in w} | {a + b for a, b in ranks}))}
        _tok.update(ranks=ranks, vocab=vocab, pieces=_pieces(PASSAGE))


def _bpe(word, ranks, vocab):
    syms = list(word)
    while len(syms) > 1:
        best, best_rank = -1, None
        for i in range(len(syms) - 1):
            r = ranks.get((syms[i], syms[i + 1]))
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best < 0:
            break
        syms[best:best + 2] = [syms[best] + syms[best + 1]]
    return [vocab.get(s, 0) for s in syms]


def tokenize_run(units):
    ranks, vocab, pieces = _tok["ranks"], _tok["vocab"], _tok["pieces"]
    acc = 0
    for _ in range(units):
        ids = _bpe(pieces[next(_tok_next) % len(pieces)], ranks, vocab)
        acc = (acc * 31 + sum(ids) + len(ids)) & MASK64
    return acc


# ---- preprocess: bilinear resize 640x480 RGB -> 224x224, ImageNet normalisation ------------
# One unit = 16 output pixels of a row (a whole row is ~150 us of pure Python).

SRC_W, SRC_H, DST = 640, 480, 224
PIXELS_PER_UNIT = 16
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_pre = {}
_pre_next = itertools.count()


def preprocess_prepare():
    if _pre:
        return
    # A deterministic synthetic frame (gradients plus a pattern), as the Rust standard frame.
    frame = bytearray(SRC_W * SRC_H * 3)
    for y in range(SRC_H):
        base = y * SRC_W * 3
        for x in range(SRC_W):
            i = base + x * 3
            frame[i] = (x * 255 // SRC_W) & 255
            frame[i + 1] = (y * 255 // SRC_H) & 255
            frame[i + 2] = ((x ^ y) * 7) & 255
    sx, sy = (SRC_W - 1) / (DST - 1), (SRC_H - 1) / (DST - 1)
    xs = []
    for dx in range(DST):
        fx = dx * sx
        x0 = min(int(fx), SRC_W - 2)
        xs.append((x0 * 3, fx - x0))
    ys = []
    for dy in range(DST):
        fy = dy * sy
        y0 = min(int(fy), SRC_H - 2)
        ys.append((y0 * SRC_W * 3, fy - y0))
    _pre.update(frame=bytes(frame), xs=xs, ys=ys)


def preprocess_run(units):
    frame, xs, ys = _pre["frame"], _pre["xs"], _pre["ys"]
    row_stride = SRC_W * 3
    m0, m1, m2 = MEAN
    s0, s1, s2 = (1 / (255 * s) for s in STD)
    chunks = DST // PIXELS_PER_UNIT
    acc = 0.0
    for _ in range(units):
        k = next(_pre_next) % (DST * chunks)
        dy, c = divmod(k, chunks)
        top, wy = ys[dy]
        bot = top + row_stride
        r_out, g_out, b_out = [], [], []
        for dx in range(c * PIXELS_PER_UNIT, (c + 1) * PIXELS_PER_UNIT):
            xo, wx = xs[dx]
            a, b = top + xo, top + xo + 3
            d, e = bot + xo, bot + xo + 3
            w00, w01, w10, w11 = (1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy
            r = frame[a] * w00 + frame[b] * w01 + frame[d] * w10 + frame[e] * w11
            g = frame[a + 1] * w00 + frame[b + 1] * w01 + frame[d + 1] * w10 + frame[e + 1] * w11
            bl = frame[a + 2] * w00 + frame[b + 2] * w01 + frame[d + 2] * w10 + frame[e + 2] * w11
            r_out.append(r * s0 - m0 / STD[0])
            g_out.append(g * s1 - m1 / STD[1])
            b_out.append(bl * s2 - m2 / STD[2])
        acc += sum(r_out) + sum(g_out) + sum(b_out)
    return int(acc * 1000) & MASK64


# ---- softmax-topk: stable softmax + top-5; one unit = one 40-logit slice of the 1000 -------
# (the whole 1000-logit head is ~150 us in pure Python: 25 units)

LOGITS = 1000
SLICE = 40
_logits = []
_soft_next = itertools.count()


def softmax_prepare():
    if not _logits:
        x = 12345
        out = []
        for _ in range(LOGITS):
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK64
            out.append(((x >> 33) / (1 << 31)) * 16.0 - 8.0)
        _logits.extend(out)


def softmax_run(units):
    import heapq
    acc = 0
    for _ in range(units):
        k = (next(_soft_next) % (LOGITS // SLICE)) * SLICE
        xs = _logits[k:k + SLICE]
        m = max(xs)
        ex = [math.exp(v - m) for v in xs]
        s = sum(ex)
        probs = [e / s for e in ex]
        top = heapq.nlargest(5, range(len(probs)), key=probs.__getitem__)
        acc ^= top[0] + k
    return acc


# ---- audio-features: one unit = one 64-sample frame of 16 kHz audio: Hann window,
# 64-point radix-2 FFT, power, 8 mel-ish triangular bands, log (a 400-sample frame with a
# 512-point FFT is ~3 ms of pure Python, too coarse for a unit)

FRAME = 64
BANDS = 8
_audio = {}
_audio_next = itertools.count()


def audio_prepare():
    if _audio:
        return
    sr = 16000
    sig = [0.5 * math.sin(2 * math.pi * 440 * t / sr) + 0.25 * math.sin(2 * math.pi * 1870 * t / sr)
           + 0.05 * (((t * 7919) % 101) / 50.0 - 1.0) for t in range(sr)]
    hann = [0.5 - 0.5 * math.cos(2 * math.pi * n / (FRAME - 1)) for n in range(FRAME)]
    bits = FRAME.bit_length() - 1
    rev = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(FRAME)]
    tw = [complex(math.cos(-2 * math.pi * k / FRAME), math.sin(-2 * math.pi * k / FRAME)) for k in range(FRAME // 2)]

    def mel(f):
        return 2595 * math.log10(1 + f / 700)

    half = FRAME // 2 + 1
    mel_max = mel(sr / 2)
    edges = [700 * (10 ** ((mel_max * i / (BANDS + 1)) / 2595) - 1) for i in range(BANDS + 2)]
    bins = [min(half - 1, int(round(e / (sr / 2) * (half - 1)))) for e in edges]
    filters = []
    for b in range(BANDS):
        lo, mid, hi = bins[b], max(bins[b + 1], bins[b] + 1), max(bins[b + 2], bins[b] + 2)
        w = []
        for k in range(lo, min(hi, half - 1) + 1):
            w.append((k, (k - lo) / (mid - lo) if k <= mid else (hi - k) / (hi - mid)))
        filters.append(w)
    _audio.update(sig=sig, hann=hann, rev=rev, tw=tw, filters=filters)


def audio_run(units):
    sig, hann, rev, tw, filters = _audio["sig"], _audio["hann"], _audio["rev"], _audio["tw"], _audio["filters"]
    hop = FRAME // 2
    nframes = (len(sig) - FRAME) // hop
    acc = 0.0
    for _ in range(units):
        start = (next(_audio_next) % nframes) * hop
        a = [complex(sig[start + rev[i]] * hann[rev[i]], 0.0) for i in range(FRAME)]
        size = 2
        while size <= FRAME:
            halfsize, step = size // 2, FRAME // size
            for s in range(0, FRAME, size):
                for k in range(halfsize):
                    t = tw[k * step] * a[s + k + halfsize]
                    u = a[s + k]
                    a[s + k] = u + t
                    a[s + k + halfsize] = u - t
            size *= 2
        power = [(c.real * c.real + c.imag * c.imag) / FRAME for c in a[:FRAME // 2 + 1]]
        for w in filters:
            acc += math.log(sum(power[k] * g for k, g in w) + 1e-10)
    return int(abs(acc) * 1000) & MASK64


# ---- matmul (cpu): one unit = one 8x8 float matrix product in pure Python -------------------

MM = 8
_mm = {}


def matmul_prepare():
    if not _mm:
        _mm["a"] = [[((i * MM + j) % 7) / 7.0 for j in range(MM)] for i in range(MM)]
        _mm["bt"] = [[((i + 2 * j) % 5) / 5.0 for j in range(MM)] for i in range(MM)]


def matmul_run(units):
    a, bt = _mm["a"], _mm["bt"]
    acc = 0.0
    for _ in range(units):
        c = [[sum(x * y for x, y in zip(row, col)) for col in bt] for row in a]
        acc += c[MM - 1][MM - 1]
    return int(acc) & MASK64


CPU = {
    "arith": (arith_prepare, arith_run),
    "json": (json_prepare, json_run),
    "tokenize": (tokenize_prepare, tokenize_run),
    "preprocess": (preprocess_prepare, preprocess_run),
    "softmax-topk": (softmax_prepare, softmax_run),
    "audio-features": (audio_prepare, audio_run),
    "matmul": (matmul_prepare, matmul_run),
}


# ---- native kernels: release the GIL ---------------------------------------------------------

def _need(module, what):
    try:
        return __import__(module)
    except ImportError as e:
        raise SpecError(f"{what} needs the Python package `{module}`, which does not import in "
                        f"this interpreter ({e}); {SETUP_HINT}") from None


class NativeMatmul:
    """numpy `@` on float32 matrices sized to the work: one product of n x n per phase, so
    the GIL is released once for the whole phase as real NumPy code does. A unit is the
    flops of one 64x64 product; a phase of U units multiplies matrices of n = 64 * U^(1/3)."""

    BASE = 64

    def __init__(self):
        # One BLAS thread, like the Rust kernel; the point's parallelism comes from its threads.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        self.np = _need("numpy", "the native matmul kernel")
        self.cache = {}
        self.lock = threading.Lock()

    def operands(self, n):
        m = self.cache.get(n)
        if m is None:
            with self.lock:
                rng = self.np.random.default_rng(n)
                m = (rng.random((n, n), dtype=self.np.float32), rng.random((n, n), dtype=self.np.float32))
                self.cache[n] = m
        return m

    def size_for(self, units):
        return max(2, int(round(self.BASE * max(units, 1e-9) ** (1.0 / 3.0))))

    def run(self, units):
        # Fractional units are allowed here (the size is continuous), unlike cpu kernels.
        a, b = self.operands(self.size_for(units))
        return int((a @ b)[0, 0] * 1000) & MASK64


class Mobilenet:
    """One InferenceSession per process, shared by its threads (ORT's Run is thread-safe)."""

    def __init__(self, model, intra_op_threads):
        ort = _need("onnxruntime", "the mobilenetv2 kernel")
        np = _need("numpy", "the mobilenetv2 kernel")
        path = find_model(model)
        opts = ort.SessionOptions()
        if intra_op_threads:
            opts.intra_op_num_threads = int(intra_op_threads)
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types
            raise SpecError(f"mobilenetv2: ONNX Runtime cannot load {path}: {e}") from None
        inp = self.session.get_inputs()[0]
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        self.name = inp.name
        self.x = np.random.default_rng(0).random(shape, dtype=np.float32)

    def run(self, units):
        acc = 0
        for _ in range(max(1, int(round(units)))):
            out = self.session.run(None, {self.name: self.x})[0]
            acc ^= int(out.argmax())
        return acc


def find_model(model):
    """GILBENCH_MODEL wins, then the spec's onnx.model, then models/mobilenetv2.onnx found
    upward from this file."""
    env = os.environ.get("GILBENCH_MODEL")
    if env:
        cand = env
    elif model:
        cand = model
    else:
        cand = None
        d = _HERE
        while True:
            p = os.path.join(d, "models", "mobilenetv2.onnx")
            if os.path.isfile(p):
                cand = p
                break
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
        if cand is None:
            raise SpecError("mobilenetv2: no models/mobilenetv2.onnx above " + _HERE
                            + "; run scripts/setup (it builds the model) or set GILBENCH_MODEL=/path/model.onnx")
    if not os.path.isfile(cand):
        raise SpecError(f"mobilenetv2: model file {cand} does not exist; run scripts/setup or set GILBENCH_MODEL")
    return cand

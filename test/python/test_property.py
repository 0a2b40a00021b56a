"""Property test: random and adversarial shapes and values, fed to small op
models with dynamic dims. For each run bathy must either give onnxruntime's
answer (NaN where it has NaN) or, when onnxruntime refuses the input, exit 1
with an error naming a node; never a signal, never exit 0 with an answer
onnxruntime would not give, never refuse what onnxruntime computes.

Shapes are drawn from sizes that break code paths (0, 1, primes, a size one
off from its partner); values include NaN, +-inf, huge magnitudes and
out-of-range indices. Seeded, so a failure reproduces; the case printed in
the assertion is enough to rerun it by hand. Issue #15 ("make the class of
bug visible").
"""
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import onnxruntime as ort
import pytest

from onnx_node_tests import tool

HEADER = '< ir_version: 8, opset_import: ["" : 17] >\n'
SIZES = [0, 1, 2, 3, 5, 7]


def floats(rng, shape, huge=True):
    x = rng.standard_normal(shape).astype(np.float32)
    if x.size:
        flat = x.reshape(-1)
        specials = (np.nan, np.inf, -np.inf) + ((3e38, -3e38) if huge else ())
        for special in specials:
            if rng.random() < 0.3:
                flat[rng.integers(flat.size)] = special
    return x


def pick(rng, like=None):
    """A size: often `like` (compatible), else anything (perhaps not)."""
    if like is not None and rng.random() < 0.6:
        return like
    return int(rng.choice(SIZES))


# name -> (graph, input generator)
def add_inputs(rng):
    a, b = pick(rng), pick(rng)
    return {"x": floats(rng, (a, b)), "y": floats(rng, (pick(rng, a) if rng.random() < 0.7 else 1,
                                                       pick(rng, b)))}


def matmul_inputs(rng):
    m, k, n = pick(rng), pick(rng), pick(rng)
    return {"a": floats(rng, (m, k)), "b": floats(rng, (pick(rng, k), n))}


def reshape_inputs(rng):
    a, b = pick(rng), pick(rng)
    n = a * b
    choices = [[a, b], [b, a], [-1, max(b, 1)], [n, -1], [0, -1], [-1, -1], [n + 1, 1],
               [-2, a], [2 ** 40, 2 ** 40], [2 ** 62 + 3, 4]]
    return {"x": floats(rng, (a, b)), "s": np.array(choices[rng.integers(len(choices))], np.int64)}


def gather_inputs(rng):
    rows = pick(rng)
    n = pick(rng)
    ids = rng.integers(-rows - 2, rows + 2, size=(n,)) if rows else rng.integers(-2, 2, size=(n,))
    if n and rng.random() < 0.3:
        ids[0] = rng.choice([2 ** 40, -(2 ** 40), 2 ** 62])
    return {"t": floats(rng, (rows, 3)), "i": ids.astype(np.int64)}


def concat_inputs(rng):
    a, b = pick(rng), pick(rng)
    return {"x": floats(rng, (a, b)), "y": floats(rng, (pick(rng, a), pick(rng)))}


def slice_inputs(rng):
    a = pick(rng)
    bounds = [-(2 ** 63), -9, -3, -1, 0, 1, 2, 4, 9, 2 ** 63 - 1]
    return {"x": floats(rng, (a, 4)),
            "s": np.array([rng.choice(bounds)], np.int64),
            "e": np.array([rng.choice(bounds)], np.int64)}


def expand_inputs(rng):
    a = int(rng.choice([1, 3]))
    return {"x": floats(rng, (a, 3)),
            "s": np.array([pick(rng), int(rng.choice([1, 3, 4]))], np.int64)}


def softmax_inputs(rng):
    return {"x": floats(rng, (pick(rng), pick(rng)))}


def layernorm_inputs(rng):
    # No magnitudes whose squares overflow f32: every implementation's
    # variance is then inf or NaN in its own way (bathy's gives 0, onnxruntime
    # NaN, the exact answer is finite).
    d = pick(rng)
    return {"x": floats(rng, (pick(rng), d), huge=False),
            "s": floats(rng, (pick(rng, d),), huge=False)}


def conv_inputs(rng):
    h, w = int(rng.choice([1, 2, 3, 6, 9])), int(rng.choice([1, 2, 3, 6, 9]))
    return {"x": floats(rng, (pick(rng, 1), 2, h, w))}


def pad_inputs(rng):
    return {"x": floats(rng, (1, 2, pick(rng), pick(rng)))}


def where_inputs(rng):
    a = pick(rng)
    return {"c": rng.random((a,)) < 0.5, "x": floats(rng, (pick(rng, a),)),
            "y": floats(rng, (pick(rng, a) if rng.random() < 0.5 else 1,))}


def range_inputs(rng):
    vals = [-(2 ** 62), -7, -1, 0, 1, 3, 10, 2 ** 40]
    return {"a": np.array(rng.choice(vals), np.int64), "b": np.array(rng.choice(vals), np.int64),
            "d": np.array(rng.choice([-3, -1, 0, 1, 2, 2 ** 62]), np.int64)}


W = ",".join(f"{v:.3f}" for v in np.linspace(-1, 1, 36))
MODELS = {
    "add": ("g (float[a,b] x, float[c,d] y) => (float[?,?] z) { z = Add (x, y) }", add_inputs),
    "matmul": ("g (float[m,k] a, float[j,n] b) => (float[?,?] z) { z = MatMul (a, b) }",
               matmul_inputs),
    "reshape": ("g (float[a,b] x, int64[2] s) => (float[?,?] z) { z = Reshape (x, s) }",
                reshape_inputs),
    "gather": ("g (float[r,3] t, int64[n] i) => (float[?,3] z) { z = Gather <axis=0> (t, i) }",
               gather_inputs),
    "concat": ("g (float[a,b] x, float[c,d] y) => (float[?,?] z) { z = Concat <axis=1> (x, y) }",
               concat_inputs),
    "slice": ("g (float[a,4] x, int64[1] s, int64[1] e) => (float[?,4] z) {\n"
              " ax = Constant <value = int64[1] {0}> ()\n z = Slice (x, s, e, ax) }", slice_inputs),
    "expand": ("g (float[a,3] x, int64[2] s) => (float[?,?] z) { z = Expand (x, s) }",
               expand_inputs),
    "softmax_reducemax": ("g (float[a,b] x) => (float[?,?] z, float[?] m) {\n"
                          " z = Softmax <axis=1> (x)\n m = ReduceMax <keepdims=0, axes=[1]> (x) }",
                          softmax_inputs),
    "layernorm": ("g (float[a,b] x, float[c] s) => (float[?,?] z) {\n"
                  " z = LayerNormalization <axis=-1> (x, s) }", layernorm_inputs),
    "conv_relu": ("g (float[n,2,h,w] x) => (float[?,2,?,?] z) {\n"
                  f" k = Constant <value = float[2,2,3,3] {{{W}}}> ()\n"
                  " c = Conv <pads=[1,0,1,0], strides=[2,1]> (x, k)\n z = Relu (c) }",
                  conv_inputs),
    "pad_reflect": ("g (float[1,2,h,w] x) => (float[?,?,?,?] z) {\n"
                    " p = Constant <value = int64[8] {0,0,1,2,0,0,2,1}> ()\n"
                    " z = Pad <mode=\"reflect\"> (x, p) }", pad_inputs),
    "where": ("g (bool[a] c, float[b] x, float[d] y) => (float[?] z) { z = Where (c, x, y) }",
              where_inputs),
    "range": ("g (int64 a, int64 b, int64 d) => (int64[?] z) { z = Range (a, b, d) }",
              range_inputs),
}
RUNS_PER_MODEL = 12


def reflect_reference(feeds):
    x = feeds["x"]
    if 0 in x.shape[2:]:
        return None  # nothing to reflect (NumPy refuses too)
    return [np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="reflect")]


def layernorm_reference(feeds):
    x, scale = feeds["x"].astype(np.float64), feeds["s"]
    with np.errstate(all="ignore"):
        mean = x.mean(axis=1, keepdims=True) if x.shape[1] else x[:, :0]
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True) if x.shape[1] else x[:, :0]
        y = (x - mean) / np.sqrt(var + 1e-5)
    try:
        return [(y * scale).astype(np.float32)]
    except ValueError:
        return None  # the scale does not broadcast


# Where onnxruntime is not the right oracle, the answer NumPy gives.
REFERENCES = {
    # onnxruntime refuses a normalized size of 1 and a scale it would have
    # to broadcast; ONNX's function body (a Mul) broadcasts it.
    "layernorm": layernorm_reference,
    # onnxruntime reads outside the input once a reflect pad reaches the
    # dim's size (rows of NaN and zeros); NumPy reflects again.
    "pad_reflect": reflect_reference,
}


def reference(name, path, feeds):
    """The expected outputs, or None when the input must be refused."""
    if name in REFERENCES:
        return REFERENCES[name](feeds)
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        want = session.run(None, feeds)
    except Exception:
        return None
    if name == "softmax_reducemax" and feeds["x"].shape[1] > 0:
        # onnxruntime's ReduceMax skips NaN; a max over NaN is NaN (IEEE
        # maximum, NumPy, bathy's Max and MaxPool alike).
        want[1] = np.max(feeds["x"], axis=1)
    return want


def accepted_refusal(name, feeds, stderr):
    """bathy refuses input onnxruntime computes, and is right to."""
    # Concat with an empty input whose other dims differ: onnxruntime fills
    # the result with zeros for it; the dims must agree.
    if name == "concat" and any(v.size == 0 for v in feeds.values()):
        return "(Concat): input 1 has size" in stderr
    return False


def run_case(args):
    name, seed = args
    graph, make = MODELS[name]
    rng = np.random.default_rng(seed)
    feeds = make(rng)
    model = onnx.parser.parse_model(HEADER + graph)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "m.onnx"
        onnx.save(model, path)
        cmd = [tool("bathy-run"), str(path), f"--output-dir={tmp / 'out'}", "--quiet"]
        for k, v in feeds.items():
            np.save(tmp / f"{k}.npy", v)
            cmd.append(f"--input={k}={tmp / f'{k}.npy'}")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        want = reference(name, path, feeds)
        shapes = {k: v.shape for k, v in feeds.items()}
        where = f"{name} seed {seed} shapes {shapes}"
        if r.returncode < 0 or r.returncode > 1 or "Stack dump" in r.stderr:
            return f"{where}: crashed (rc {r.returncode}): {r.stderr[-500:]}"
        if want is None:
            if r.returncode == 0:
                return f"{where}: onnxruntime refuses the input but bathy answered"
            if not r.stderr.startswith("error: "):
                return f"{where}: unclear error: {r.stderr[-300:]}"
            return None
        if r.returncode != 0:
            if accepted_refusal(name, feeds, r.stderr):
                return None
            return f"{where}: onnxruntime computes it but bathy refused: {r.stderr[-300:]}"
        for output, w in zip(model.graph.output, want):
            got = np.load(tmp / "out" / f"{output.name}.npy")
            if got.shape != w.shape:
                return f"{where}: output {output.name} shape {got.shape} != {w.shape}"
            ok = (np.array_equal(got, w) if got.dtype.kind in "iub" else
                  np.allclose(got, w, rtol=1e-4, atol=1e-5, equal_nan=True))
            if not ok:
                return f"{where}: output {output.name} differs from onnxruntime"
    return None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_random_and_adversarial_inputs(name):
    cases = [(name, 1000 * i + 7) for i in range(RUNS_PER_MODEL)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(run_case, cases) if p]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", ["bert", "gpt2", "llama"])
def test_text_models_with_hostile_token_ids(exported, tmp_path, name):
    """Token ids past the vocabulary (a hostile request) are an error naming
    the embedding's Gather, never a row of another token; a sequence or batch
    of 0 gives what onnxruntime gives (an empty result or an error)."""
    path = exported / f"{name}.onnx"
    model = onnx.load(path)
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]

    def feeds(batch, seq, token):
        out = {}
        for i in inputs:
            shape = [batch if d.dim_param == "batch" else seq if d.dim_param == "seq"
                     else d.dim_value for d in i.type.tensor_type.shape.dim]
            if i.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
                out[i.name] = np.zeros(shape, np.float32)
            elif "mask" in i.name:
                out[i.name] = np.ones(shape, np.int64)
            else:
                out[i.name] = np.full(shape, token, np.int64)
        return out

    def run(f):
        args = []
        for k, v in f.items():
            np.save(tmp_path / f"{k}.npy", v)
            args.append(f"--input={k}={tmp_path / f'{k}.npy'}")
        return subprocess.run([tool("bathy-run"), str(path), f"--output-dir={tmp_path / 'out'}",
                               *args], capture_output=True, text=True, timeout=300)

    for token in (10 ** 9, -(2 ** 62)):
        r = run(feeds(2, 3, token))
        assert r.returncode == 1, (token, r.returncode, r.stderr[-500:])
        assert "(Gather): index" in r.stderr and "is out of range" in r.stderr, r.stderr
    for batch, seq in ((0, 3), (2, 0)):
        f = feeds(batch, seq, 1)
        r = run(f)
        assert r.returncode in (0, 1), r.stderr[-500:]
        try:
            want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, f)
        except Exception:
            want = None
        if want is None:
            assert r.returncode == 1 and r.stderr.startswith("error: node '"), r.stderr
            continue
        assert r.returncode == 0, r.stderr[-500:]
        for output, w in zip(model.graph.output, want):
            got = np.load(tmp_path / "out" / f"{output.name}.npy")
            assert got.shape == w.shape, (output.name, got.shape, w.shape)

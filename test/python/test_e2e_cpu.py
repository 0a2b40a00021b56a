"""End to end on the CPU: bathy-run against onnxruntime as the oracle.

Each model (the bundled text-format CNN, and the torch-exported ResNet-50,
MobileNetV2, EfficientNet-B0, ViT, BERT-, GPT-2- and Llama-style blocks) runs
at batch 1 and a larger batch; text models also at two sequence lengths, so
one compilation serves several shapes. Outputs must match onnxruntime to
rtol 1e-4 (atol 1e-5 for values near zero).
"""
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import onnxruntime as ort
import pytest

from onnx_node_tests import tool

ROOT = Path(__file__).resolve().parents[2]
TEXT_MODELS = ["bert", "gpt2", "llama"]
VISION = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit"]


def make_inputs(model, dims, rng):
    init = {i.name for i in model.graph.initializer}
    feeds = {}
    for inp in model.graph.input:
        if inp.name in init:
            continue
        tt = inp.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims[d.dim_param]
                 for d in tt.shape.dim]
        if tt.elem_type == onnx.TensorProto.FLOAT:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
        elif "mask" in inp.name:
            mask = np.ones(shape, np.int64)
            mask[..., -1] = 0  # a padded position, so the mask matters
            feeds[inp.name] = mask
        else:
            feeds[inp.name] = rng.integers(0, 1000, shape).astype(np.int64)
    return feeds


def run_both(path, model, dims, tmp_path, extra_args=()):
    rng = np.random.default_rng(sum(dims.values()))
    feeds = make_inputs(model, dims, rng)
    args = []
    for name, value in feeds.items():
        f = tmp_path / f"{name}.npy"
        np.save(f, value)
        args.append(f"--input={name}={f}")
    out_dir = tmp_path / "out"
    result = subprocess.run([tool("bathy-run"), str(path), f"--output-dir={out_dir}", *args,
                             *extra_args],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    onnx_path = path
    if str(path).endswith(".onnxtext"):
        onnx_path = tmp_path / "model.onnx"
        onnx.save(model, onnx_path)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    expected = session.run(None, feeds)
    for output, want in zip(model.graph.output, expected):
        got = np.load(out_dir / f"{output.name}.npy")
        assert got.shape == want.shape, (output.name, got.shape, want.shape)
        assert np.abs(want).max() > 1e-3, "outputs ~0: the comparison would be vacuous"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=output.name)


@pytest.mark.parametrize("batch", [1, 3])
def test_bundled_cnn(tmp_path, batch):
    path = ROOT / "models" / "tiny_cnn.onnxtext"
    model = onnx.parser.parse_model(path.read_text())
    run_both(path, model, {"batch": batch}, tmp_path)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", VISION)
def test_vision_models(exported, tmp_path, name, batch):
    path = exported / f"{name}.onnx"
    run_both(path, onnx.load(path), {"batch": batch}, tmp_path)


@pytest.mark.parametrize("batch,seq", [(1, 5), (3, 11)])
@pytest.mark.parametrize("name", TEXT_MODELS)
def test_text_models(exported, tmp_path, name, batch, seq):
    path = exported / f"{name}.onnx"
    run_both(path, onnx.load(path), {"batch": batch, "seq": seq}, tmp_path)


def test_bad_inputs_are_named(tmp_path):
    path = ROOT / "models" / "tiny_cnn.onnxtext"
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((1, 3, 8, 8), np.float32))
    result = subprocess.run([tool("bathy-run"), str(path), f"--input=image={bad}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "input 'image' dim 2 must be 16, got 8" in result.stderr
    np.save(bad, np.zeros((1, 3, 16, 16), np.float64))
    result = subprocess.run([tool("bathy-run"), str(path), f"--input=image={bad}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "input 'image' must be f32, got f64" in result.stderr
    result = subprocess.run([tool("bathy-run"), str(path), f"--input=nope={bad}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "the model has no input named 'nope'" in result.stderr


@pytest.mark.parametrize("flags", [["--threads=3"], ["--threads=4", "--serial-loops"]])
def test_thread_splits_do_not_change_results(exported, tmp_path, flags):
    """Loop nests split over 3 threads (uneven slices, rows of (batch, head)
    cut mid-way) and run serially must both still match onnxruntime."""
    path = exported / "bert.onnx"
    run_both(path, onnx.load(path), {"batch": 3, "seq": 11}, tmp_path, flags)


def test_hostile_gather_indices_stay_in_bounds(tmp_path):
    """Token ids past the table (a hostile request) must not read outside the
    embedding: gather indices are clamped into range, never dereferenced wild."""
    model = onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 17] >
        g (int64[n] ids, int64[2, n] pick) => (float[n, 4] rows, float[2, n] picked) {
          table = Constant <value = float[6, 4] {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23,
                                                  30, 31, 32, 33, 40, 41, 42, 43, 50, 51, 52, 53}> ()
          rows = Gather <axis = 0> (table, ids)
          t2 = Constant <value = float[2, 4] {0, 1, 2, 3, 4, 5, 6, 7}> ()
          picked = GatherElements <axis = 1> (t2, pick)
        }""")
    path = tmp_path / "gather.onnx"
    onnx.save(model, path)
    ids = np.array([2, 1 << 40, -(1 << 40), -1], np.int64)
    pick = np.array([[0, 99, -99, -1], [3, 1 << 50, 1, -4]], np.int64)
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "pick.npy", pick)
    out = tmp_path / "out"
    result = subprocess.run([tool("bathy-run"), str(path), f"--output-dir={out}",
                             f"--input=ids={tmp_path / 'ids.npy'}",
                             f"--input=pick={tmp_path / 'pick.npy'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    table = np.arange(6)[:, None] * 10 + np.arange(4)[None, :]
    np.testing.assert_array_equal(np.load(out / "rows.npy"), table[[2, 5, 0, 5]])
    np.testing.assert_array_equal(np.load(out / "picked.npy"),
                                  np.array([[0, 3, 0, 3], [7, 7, 5, 4]], np.float32))


@pytest.mark.parametrize("opset", [13, 18])
def test_composite_reductions(tmp_path, opset):
    """ReduceL1/L2/SumSquare/LogSum/LogSumExp (sentence-transformers' L2
    normalisation uses ReduceL2) against onnxruntime, with axes as an
    attribute (opset 13) and as a constant input (18); LogSumExp on values
    whose exponentials overflow f32 if summed naively."""
    def reduce(op, out, keep):
        if opset >= 18:
            return f"{out} = {op} <keepdims = {keep}> (x, axes)"
        return f"{out} = {op} <axes = [1, -1], keepdims = {keep}> (x)"
    body = "\n".join([
        "axes = Constant <value = int64[2] {1, -1}> ()" if opset >= 18 else "",
        reduce("ReduceL1", "l1", 1), reduce("ReduceL2", "l2", 0),
        reduce("ReduceSumSquare", "ss", 1), "ax = Abs (x)",
        reduce("ReduceLogSum", "ls", 0).replace("(x", "(ax"),
        reduce("ReduceLogSumExp", "lse", 0), "big = Mul (x, hundred)",
        reduce("ReduceLogSumExp", "lseb", 1).replace("(x", "(big")])
    model = onnx.parser.parse_model(f"""
        < ir_version: 8, opset_import: ["" : {opset}] >
        g (float[2, 3, 5] x) => (float[2, 1, 1] l1, float[2] l2, float[2, 1, 1] ss, float[2] ls,
                                 float[2] lse, float[2, 1, 1] lseb) {{
          hundred = Constant <value = float {{100.0}}> ()
          {body}
        }}""")
    path = tmp_path / "reduce.onnx"
    onnx.save(model, path)
    run_both(path, model, {}, tmp_path)

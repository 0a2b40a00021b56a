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
import onnx.helper
import onnx.numpy_helper
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
    assert "input 'image' dim 2 must be 16 (f32[batch, 3, 16, 16]), but its file gives 8" \
        in result.stderr
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


def run_bathy(path, feeds, tmp_path):
    """bathy-run on `feeds` (name -> array); its outputs by name."""
    args = []
    for name, value in feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args.append(f"--input={name}={tmp_path / f'{name}.npy'}")
    out = tmp_path / "out"
    result = subprocess.run([tool("bathy-run"), str(path), f"--output-dir={out}", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return {f.stem: np.load(f) for f in out.glob("*.npy")}


def assert_one_attention_kernel(path):
    """--explain-fusion shows the softmax inside a fused attention kernel."""
    report = subprocess.run([tool("bathy-run"), str(path), "--explain-fusion"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "[attention]" in report.stdout and "softmax" not in report.stdout


def exported_attention_mask_model(mask_style="expand"):
    """Attention scores plus a padding mask, built the way transformers'
    BERT export builds them: heads split by a Reshape whose target is
    [batch, seq, -1, 16] read off Shape(q), and the mask broadcast by an
    Expand whose target comes from ConstantOfShape/Mul/Equal/Where (Expand's
    "-1 keeps the dim" idiom). With dynamic batch and sequence, neither the
    head count nor the mask's size-1 head dim is known to shape inference.

    mask_style="index" builds the mask as transformers 5 exports it instead:
    Range over batch, query and key positions, a Gather of the flattened mask
    at batch * seq + key, reshaped to Shape(index) and And-ed with
    query >= 0. Its shape arithmetic takes several rounds of inference and
    folding to become static."""
    from onnx import helper, TensorProto
    f, i64 = TensorProto.FLOAT, TensorProto.INT64

    def const(name, values, dtype=i64, dims=None):
        return helper.make_node("Constant", [], [name], value=helper.make_tensor(
            name + "_v", dtype, dims if dims is not None else [len(values)], values))

    nodes = [
        helper.make_node("Shape", ["q"], ["sh"]),
        const("i0", [0], dims=[]), const("i1", [1], dims=[]), const("ax0", [0]),
        helper.make_node("Gather", ["sh", "i0"], ["b"], axis=0),
        helper.make_node("Gather", ["sh", "i1"], ["s"], axis=0),
        helper.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
        helper.make_node("Unsqueeze", ["s", "ax0"], ["s1"]),
        const("minus1", [-1]), const("d16", [16]),
        helper.make_node("Concat", ["b1", "s1", "minus1", "d16"], ["heads_shape"], axis=0),
        helper.make_node("Reshape", ["q", "heads_shape"], ["qr"]),
        helper.make_node("Transpose", ["qr"], ["qh"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["k", "heads_shape"], ["kr"]),
        helper.make_node("Transpose", ["kr"], ["kh"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["qh", "kh"], ["qk"]),
        const("scale", [0.25], f, dims=[]),
        helper.make_node("Mul", ["qk", "scale"], ["scores"]),
    ]
    if mask_style == "index":
        nodes += index_mask_nodes(const)
    else:
        nodes += expand_mask_nodes(const)
    nodes += [
        helper.make_node("Add", ["scores", "madd"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "attention_mask",
        [helper.make_tensor_value_info("q", f, ["batch", "seq", 64]),
         helper.make_tensor_value_info("k", f, ["batch", "seq", 64]),
         helper.make_tensor_value_info("mask", i64, ["batch", "seq"])],
        [helper.make_tensor_value_info("probs", f, None)])
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def expand_mask_nodes(const):
    """madd [batch, 1, seq, seq] through Expand with the "-1 keeps" idiom."""
    from onnx import helper, TensorProto
    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    return [
        const("ax12", [1, 2]),
        helper.make_node("Unsqueeze", ["mask", "ax12"], ["m4"]),
        helper.make_node("Cast", ["m4"], ["mb"], to=TensorProto.BOOL),
        helper.make_node("Concat", ["b1", "minus1", "s1", "s1"], ["tgt"], axis=0),
        helper.make_node("Shape", ["tgt"], ["tgt_len"]),
        helper.make_node("ConstantOfShape", ["tgt_len"], ["ones"],
                         value=helper.make_tensor("one", i64, [1], [1])),
        const("neg1", [-1], dims=[]),
        helper.make_node("Mul", ["ones", "neg1"], ["negs"]),
        helper.make_node("Equal", ["tgt", "negs"], ["keep"]),
        helper.make_node("Where", ["keep", "ones", "tgt"], ["fixed"]),
        helper.make_node("Expand", ["mb", "fixed"], ["mexp"]),
        const("zero", [0.0], f, dims=[]), const("big", [-1e9], f, dims=[]),
        helper.make_node("Where", ["mexp", "zero", "big"], ["madd"]),
    ]


def index_mask_nodes(const):
    """madd [batch, 1, seq, seq] by indexing the flattened mask (transformers
    5's export); uses b, s, b1, s1 and minus1 from the caller's nodes."""
    from onnx import helper, TensorProto
    f = TensorProto.FLOAT
    return [
        # The batch size reaches the Range through an Expand with a computed
        # target and a Shape after it, as transformers' token-type buffer
        # does: static only after two rounds of folding and inference.
        helper.make_node("Concat", ["b1", "s1"], ["bs"], axis=0),
        const("neg11", [-1, -1]), const("one11", [1, 1]),
        helper.make_node("Equal", ["bs", "neg11"], ["bs_keep"]),
        helper.make_node("Where", ["bs_keep", "one11", "bs"], ["bs_fixed"]),
        helper.make_node("Expand", ["mask", "bs_fixed"], ["mask_e"]),
        helper.make_node("Shape", ["mask_e"], ["me_shape"]),
        const("g0", [0], dims=[]),
        helper.make_node("Gather", ["me_shape", "g0"], ["b_late"], axis=0),
        const("r0", [0], dims=[]), const("r1", [1], dims=[]),
        helper.make_node("Range", ["r0", "b_late", "r1"], ["bidx"]),
        const("ax123", [1, 2, 3]), const("ax012", [0, 1, 2]), const("ax013", [0, 1, 3]),
        helper.make_node("Unsqueeze", ["bidx", "ax123"], ["bidx4"]),
        helper.make_node("Range", ["r0", "s", "r1"], ["kv"]),
        helper.make_node("Unsqueeze", ["kv", "ax012"], ["kv4"]),
        helper.make_node("Range", ["r0", "s", "r1"], ["qpos"]),
        helper.make_node("Unsqueeze", ["qpos", "ax013"], ["q4"]),
        helper.make_node("GreaterOrEqual", ["q4", "r0"], ["qok"]),
        helper.make_node("Cast", ["mask_e"], ["mbool"], to=TensorProto.BOOL),
        const("flat", [-1, 1]),
        helper.make_node("Reshape", ["mbool", "flat"], ["mflat"]),
        helper.make_node("Mul", ["bidx4", "s1"], ["off"]),
        helper.make_node("Add", ["kv4", "off"], ["idx"]),
        helper.make_node("Gather", ["mflat", "idx"], ["g5"], axis=0),
        helper.make_node("Shape", ["idx"], ["idx_shape"]),
        helper.make_node("Reshape", ["g5", "idx_shape"], ["g4"]),
        helper.make_node("And", ["qok", "g4"], ["allowed"]),
        const("zero", [0.0], f, dims=[]), const("big", [-1e9], f, dims=[]),
        helper.make_node("Where", ["allowed", "zero", "big"], ["madd"]),
    ]


@pytest.mark.parametrize("style", ["expand", "index"])
@pytest.mark.parametrize("batch", [1, 2])
def test_static_shapes_resolve_exported_mask_idioms(tmp_path, style, batch):
    """--static-shapes folds the exporter's shape arithmetic so every dim is
    static, and the masked attention matches onnxruntime. Batch 1 matters:
    there the index-built mask needed more inference + folding rounds than
    the graph pipeline ran, left the head dim dynamic and read past the
    mask (NaN in every transformers model at batch 1)."""
    model = exported_attention_mask_model(style)
    path = tmp_path / "mask.onnx"
    onnx.save(model, path)
    run_both(path, model, {"batch": batch, "seq": 8}, tmp_path,
             ["--static-shapes"])


@pytest.mark.parametrize("style", ["expand", "index"])
@pytest.mark.parametrize("batch", [1, 2])
def test_exported_mask_idioms_with_dynamic_shapes(tmp_path, style, batch):
    """Without --static-shapes: the mask's head dim and the head count are
    dynamic to shape inference; symbolic sizes recover them (Reshape's -1
    over [batch, seq, 64] is 4 heads of 16) and broadcasting stays right at
    batch 1, where every dynamic batch dim is a size 1 the types cannot
    show."""
    model = exported_attention_mask_model(style)
    path = tmp_path / "mask.onnx"
    onnx.save(model, path)
    run_both(path, model, {"batch": batch, "seq": 8}, tmp_path)


@pytest.mark.parametrize("n,m", [(1, 3), (3, 1), (3, 3), (1, 1)])
def test_runtime_broadcast_of_dynamic_dims(tmp_path, n, m):
    """Inputs with different dim_params: nothing proves their sizes equal,
    so a dim that is 1 at run time must broadcast against the other (Add,
    Where, Expand to the other's shape, MatMul batch dims)."""
    model = onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 17] >
        g (float[n, 4] a, float[m, 4] b, float[n, 2, 3] c, float[m, 3, 5] d)
          => (float[?, 4] sum, float[?, 4] pick, float[?, 4] wide, float[?, 2, 5] prod) {
          sum = Add (a, b)
          zero = Constant <value = float {0.0}> ()
          pos = Greater (a, zero)
          pick = Where (pos, a, b)
          shape_b = Shape (b)
          wide = Expand (a, shape_b)
          prod = MatMul (c, d)
        }""")
    path = tmp_path / "bcast.onnx"
    onnx.save(model, path)
    run_both(path, model, {"n": n, "m": m}, tmp_path)


def test_static_shapes_reject_inputs_that_contradict_the_model(tmp_path):
    path = ROOT / "models" / "tiny_cnn.onnxtext"
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((1, 3, 16), np.float32))
    result = subprocess.run([tool("bathy-run"), str(path), "--static-shapes",
                             f"--input=image={bad}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "input 'image' has rank 4 (f32[batch, 3, 16, 16]) but its file gives shape [1, 3, 16]" in result.stderr
    np.save(bad, np.zeros((1, 3, 8, 8), np.float32))
    result = subprocess.run([tool("bathy-run"), str(path), "--static-shapes",
                             f"--input=image={bad}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "input 'image' dim 2 must be 16 (f32[batch, 3, 16, 16]), but its file gives 8" \
        in result.stderr


def attention_chain_model():
    """Scaled dot-product attention spelled out as exporters write it: heads
    split from [B, S, H*D] projections, K transposed into the product,
    scaled, a padding mask [B, 1, 1, S] added, softmax, times V, heads
    merged; bathy-fusion-attention turns it into one flash-style kernel."""
    return onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 17] >
        g (float[batch, seq, 64] q, float[batch, seq, 64] k, float[batch, seq, 64] v,
           float[batch, 1, 1, seq] mask) => (float[batch, seq, 64] y) {
          shape4 = Constant <value = int64[4] {0, 0, 4, 16}> ()
          shape3 = Constant <value = int64[3] {0, 0, 64}> ()
          scale = Constant <value = float {0.25}> ()
          q4 = Reshape (q, shape4)
          qh = Transpose <perm = [0, 2, 1, 3]> (q4)
          k4 = Reshape (k, shape4)
          kt = Transpose <perm = [0, 2, 3, 1]> (k4)
          v4 = Reshape (v, shape4)
          vh = Transpose <perm = [0, 2, 1, 3]> (v4)
          s = MatMul (qh, kt)
          ss = Mul (s, scale)
          sm = Add (ss, mask)
          p = Softmax <axis = -1> (sm)
          o = MatMul (p, vh)
          ot = Transpose <perm = [0, 2, 1, 3]> (o)
          y = Reshape (ot, shape3)
        }""")


@pytest.mark.parametrize("batch,seq", [(1, 7), (2, 100), (1, 200)])
@pytest.mark.parametrize("static", [False, True])
def test_fused_attention_chain(tmp_path, batch, seq, static):
    """The recognised chain runs as one attention kernel (checked with
    --explain-fusion) and matches onnxruntime with sequences inside one
    block and across several query (48) and key (64) blocks, dynamic and
    static shapes."""
    model = attention_chain_model()
    path = tmp_path / "attn.onnx"
    onnx.save(model, path)
    assert_one_attention_kernel(path)
    run_both(path, model, {"batch": batch, "seq": seq}, tmp_path,
             ["--static-shapes"] if static else [])


@pytest.mark.parametrize("causal", [0, 1])
@pytest.mark.parametrize("seq", [9, 130])
def test_onnx_attention_grouped_causal(tmp_path, causal, seq):
    """ONNX Attention-23 with 8 query heads over 2 key/value heads, causal
    or with an additive mask, imported as one bathy.attention: against
    onnx's reference evaluator (onnxruntime 1.22 has no Attention-23)."""
    from onnx.reference import ReferenceEvaluator
    inputs = "q, k, v" if causal else "q, k, v, mask"
    model = onnx.parser.parse_model(f"""
        < ir_version: 10, opset_import: ["" : 23] >
        g (float[2, 8, s, 32] q, float[2, 2, s, 32] k, float[2, 2, s, 32] v,
           float[2, 1, s, s] mask) => (float[2, 8, s, 32] y) {{
          y = Attention <is_causal = {causal}> ({inputs})
        }}""")
    if causal:  # drop the unused mask input
        del model.graph.input[3]
    path = tmp_path / "attn.onnx"
    onnx.save(model, path)
    rng = np.random.default_rng(seq + causal)
    feeds = {"q": rng.standard_normal((2, 8, seq, 32)).astype(np.float32),
             "k": rng.standard_normal((2, 2, seq, 32)).astype(np.float32),
             "v": rng.standard_normal((2, 2, seq, 32)).astype(np.float32)}
    if not causal:
        mask = np.where(rng.random((2, 1, seq, seq)) < 0.2, -1e9, 0).astype(np.float32)
        feeds["mask"] = mask
    got = run_bathy(path, feeds, tmp_path)["y"]
    want = ReferenceEvaluator(model).run(None, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 3])
def test_conv1d_and_nd_pooling(tmp_path, batch):
    """1-D convolution (grouped, strided, dilated, padded, with bias) runs as
    2-D with a height of 1; 1-D pooling likewise; 3-D max and average
    pooling (ceil mode, padding counted or not) as two separable 2-D
    poolings. Against onnxruntime, with a dynamic batch."""
    model = onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 17] >
        g (float[n, 8, 50] x, float[n, 4, 9, 10, 11] v) => (float[n, 12, ?] c, float[n, 12, ?] p,
             float[n, 4, ?, ?, ?] mx, float[n, 4, ?, ?, ?] av, float[n, 4, ?, ?, ?] ai) {
          w = Constant <value = float[12, 4, 3] {
            0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2,
            -0.3, 0.2, 0.1, 0.5, 0.4, -0.6, 0.8, 0.7, -0.9, 1.2, 1.1, -1.0,
            0.2, 0.2, -0.2, 0.3, -0.3, 0.3, 0.4, 0.4, -0.4, 0.5, -0.5, 0.5,
            -0.1, 0.9, 0.1, 0.8, -0.8, 0.2, 0.7, 0.3, -0.3, 0.6, 0.4, -0.4,
            0.05, 0.15, -0.25, 0.35, 0.45, -0.55, 0.65, 0.75, -0.85, 0.95, 0.5, 0.5,
            -0.6, 0.6, 0.6, -0.7, 0.7, 0.7, -0.2, 0.1, 0.3, 0.9, -0.9, 0.1,
            0.3, 0.1, -0.3, 0.2, 0.2, -0.1, 0.4, 0.5, 0.6, -0.7, 0.8, 0.9,
            0.1, 0.1, 0.1, -0.2, -0.2, -0.2, 0.3, 0.3, 0.3, -0.4, -0.4, -0.4,
            0.9, -0.8, 0.7, -0.6, 0.5, -0.4, 0.3, -0.2, 0.1, 0.0, 0.1, -0.2,
            0.25, -0.25, 0.25, -0.25, 0.25, -0.25, 0.25, -0.25, 0.25, -0.25, 0.25, -0.25,
            1.0, 0.0, -1.0, 0.5, 0.0, -0.5, 0.2, 0.0, -0.2, 0.1, 0.0, -0.1,
            -1.0, 0.5, 0.25, 0.125, -0.5, 1.0, 0.75, -0.25, 0.3, -0.3, 0.6, 0.2}> ()
          b = Constant <value = float[12] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6}> ()
          c = Conv <group = 2, strides = [2], dilations = [2], pads = [3, 1]> (x, w, b)
          p = MaxPool <kernel_shape = [4], strides = [3], pads = [1, 2]> (c)
          mx = MaxPool <kernel_shape = [3, 2, 3], strides = [2, 2, 1], pads = [1, 0, 1, 1, 1, 0], ceil_mode = 1> (v)
          av = AveragePool <kernel_shape = [2, 3, 2], strides = [2, 1, 2], pads = [0, 1, 1, 1, 1, 0], ceil_mode = 1> (v)
          ai = AveragePool <kernel_shape = [3, 3, 3], strides = [2, 2, 2], pads = [1, 1, 1, 1, 1, 1], count_include_pad = 1> (v)
        }""")
    path = tmp_path / "nd.onnx"
    onnx.save(model, path)
    run_both(path, model, {"n": batch}, tmp_path)


@pytest.mark.parametrize("seq", [6, 90])
def test_fused_attention_masked_fill(tmp_path, seq):
    """The GPT-2 form Where(keep, scores, -1e4) fuses with masked_score; a
    query whose keys are all masked (the first rows of `keep` are all
    false) weighs every key equally, as the unfused model does, instead of
    turning NaN."""
    model = onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 17] >
        g (float[2, 4, seq, 16] q, float[2, 4, seq, 16] k, float[2, 4, seq, 16] v,
           float[seq, seq] noise) => (float[2, 4, seq, 16] y) {
          scale = Constant <value = float {4.0}> ()
          fill = Constant <value = float {-10000.0}> ()
          kt = Transpose <perm = [0, 1, 3, 2]> (k)
          s = MatMul (q, kt)
          ss = Div (s, scale)
          zero = Constant <value = float {0.0}> ()
          keep = Greater (noise, zero)
          m = Where (keep, ss, fill)
          p = Softmax <axis = -1> (m)
          y = MatMul (p, v)
        }""")
    path = tmp_path / "fill.onnx"
    onnx.save(model, path)
    assert_one_attention_kernel(path)
    rng = np.random.default_rng(seq)
    feeds = {n: rng.standard_normal((2, 4, seq, 16)).astype(np.float32) for n in "qkv"}
    noise = rng.standard_normal((seq, seq)).astype(np.float32)
    noise[:2] = -1.0  # rows 0 and 1: every key masked
    feeds["noise"] = noise
    got = run_bathy(path, feeds, tmp_path)["y"]
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 2])
def test_conv3d(tmp_path, batch):
    """3-D convolution (grouped, strided, dilated, padded on every side,
    with bias) as a sum of 2-D convolutions over the kernel depth, against
    onnxruntime with a dynamic batch."""
    rng = np.random.default_rng(3)
    w = onnx.numpy_helper.from_array(
        rng.standard_normal((6, 2, 3, 2, 3)).astype(np.float32), "w")
    b = onnx.numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "b")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2,
                               strides=[2, 1, 2], dilations=[1, 2, 1],
                               pads=[1, 0, 2, 2, 1, 0])],
        "conv3d",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 4, 7, 8, 9])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [w, b])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "conv3d.onnx"
    onnx.save(model, path)
    run_both(path, model, {"n": batch}, tmp_path)


# Ops ordinary in real models that used to import but not compile (issue #15,
# item 16): each now runs and matches onnxruntime.
_W3 = ",".join(f"{v:.4f}" for v in np.linspace(-1, 1, 54))
_DW = ",".join(f"{v:.4f}" for v in np.linspace(-1, 1, 18))
ORDINARY = {
    "conv_dynamic_spatial": "g (float[n,2,h,w] x) => (float[?,3,?,?] y) {\n"
        f" w = Constant <value = float[3,2,3,3] {{{_W3}}}> ()\n"
        " y = Conv <pads=[1,1,1,1], strides=[2,1]> (x, w) }",
    "depthwise_conv_dynamic_spatial": "g (float[n,2,h,w] x) => (float[?,2,?,?] y) {\n"
        f" w = Constant <value = float[2,1,3,3] {{{_DW}}}> ()\n"
        " y = Conv <group=2, pads=[1,1,1,1]> (x, w) }",
    "max_pool_dynamic_spatial_ceil": "g (float[n,2,h,w] x) => (float[?,2,?,?] y) {\n"
        " y = MaxPool <kernel_shape=[2,2], strides=[2,2], ceil_mode=1> (x) }",
    "avg_pool_dynamic_spatial": "g (float[n,2,h,w] x) => (float[?,2,?,?] y) {\n"
        " y = AveragePool <kernel_shape=[3,3], pads=[1,1,1,1]> (x) }",
    "pad_reflect": "g (float[n,2,h,w] x) => (float[?,?,?,?] y) {\n"
        " p = Constant <value = int64[8] {0,0,2,1,0,0,1,3}> ()\n y = Pad <mode=\"reflect\"> (x, p) }",
    "pad_edge": "g (float[1,2,7,9] x) => (float[?,?,?,?] y) {\n"
        " p = Constant <value = int64[8] {0,0,2,1,0,0,1,3}> ()\n y = Pad <mode=\"edge\"> (x, p) }",
    "pad_wrap": "g (float[1,2,7,9] x) => (float[?,?,?,?] y) {\n"
        " p = Constant <value = int64[8] {0,0,2,1,0,0,1,3}> ()\n y = Pad <mode=\"wrap\"> (x, p) }",
    "pad_negative": "g (float[1,2,7,9] x) => (float[?,?,?,?] y) {\n"
        " p = Constant <value = int64[8] {0,0,-2,1,0,0,1,-3}> ()\n y = Pad (x, p) }",
    "slice_negative_step": "g (float[1,2,7,9] x) => (float[?,?,?,?] y) {\n"
        " s = Constant <value = int64[2] {-1, 6}> ()\n e = Constant <value = int64[2] "
        "{-9223372036854775807, 0}> ()\n a = Constant <value = int64[2] {3, 2}> ()\n"
        " t = Constant <value = int64[2] {-1, -2}> ()\n y = Slice (x, s, e, a, t) }",
    "split_dynamic_num_outputs": "g (float[1,2,h,9] x) => (float[?,?,?,?] a, float[?,?,?,?] b,"
        " float[?,?,?,?] c) {\n a, b, c = Split <axis=2, num_outputs=3> (x) }",
    "clip_min_above_max": "g (float[1,2,7,9] x) => (float[1,2,7,9] y) {\n"
        " lo = Constant <value = float {1}> ()\n hi = Constant <value = float {0}> ()\n"
        " y = Clip (x, lo, hi) }",
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_ops_compile_and_match(tmp_path, name):
    model = onnx.parser.parse_model('< ir_version: 8, opset_import: ["" : 18] >\n'
                                    + ORDINARY[name])
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    check = subprocess.run([tool("bathy-import"), "--check", str(path)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "cpu: every kernel lowers" in check.stdout, \
        check.stdout + check.stderr
    x = np.random.default_rng(0).standard_normal((1, 2, 7, 9)).astype(np.float32)
    # NaN stays NaN; onnxruntime's MaxPool alone skips it (bathy's max
    # propagates it, like ReduceMax and NumPy).
    if "max_pool" not in name:
        x[0, 0, 0, 0] = np.nan
    got = run_bathy(path, {"x": x}, tmp_path)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    for output, w in zip(model.graph.output, want):
        g = got[output.name]
        assert g.shape == w.shape, (output.name, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, equal_nan=True,
                                   err_msg=output.name)


def test_check_reports_what_will_not_compile(tmp_path):
    model = onnx.parser.parse_model(
        '< ir_version: 8, opset_import: ["" : 17] >\n'
        "g (float[1,2,8,8] x, float[4,2,k,k] w) => (float[1,4,?,?] y) { y = Conv (x, w) }")
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    r = subprocess.run([tool("bathy-import"), "--check", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "cpu: does not compile" in r.stdout
    assert "'bathy.conv' has no lowering to linalg for 'tensor<1x2x8x8xf32>', " \
           "'tensor<4x2x?x?xf32>'" in r.stderr and "node 'Conv_0' (Conv)" in r.stderr

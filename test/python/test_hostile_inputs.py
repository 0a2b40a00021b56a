"""Hostile run-time inputs: sizes, shapes, indices and values chosen to break
a compiled model. Each must give either the right answer or a clean error
(exit code 1, "error: " naming the ONNX node and the sizes at fault) -- never
a signal, a read or write outside a buffer, garbage with exit code 0, or
memory the program did not write.

The models are small and built here with ONNX's text format; each case says
what must happen. Issue #15, items 1-5 and 9-13.
"""
import os
import subprocess
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnx.parser
import pytest

from onnx_node_tests import tool

HEADER = '< ir_version: 8, opset_import: ["" : 17] >\n'


@dataclass
class Case:
    name: str
    graph: str
    feeds: dict = field(default_factory=dict)
    error: str = None        # the error message must contain this
    expect: dict = None      # else: output name -> expected array
    args: tuple = ()


def run(case, tmp_path, mode="jit"):
    """Runs the case's model in process (jit), or compiled by bathyc and run
    from the artifact (artifact): the checks must hold either way."""
    model = onnx.parser.parse_model(HEADER + case.graph)
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    args = []
    for name, value in case.feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args.append(f"--input={name}={tmp_path / f'{name}.npy'}")
    out = tmp_path / "out"
    if mode == "artifact":
        compiled = subprocess.run([tool("bathyc"), str(path), "-o",
                                   str(tmp_path / "model.bathy"), "--quiet"],
                                  capture_output=True, text=True, timeout=120)
        if compiled.returncode != 0:
            return compiled, out  # refused at compile time, as the JIT does
        path = tmp_path / "model.bathy"
    result = subprocess.run([tool("bathy-run"), str(path), f"--output-dir={out}",
                             *args, *case.args],
                            capture_output=True, text=True, timeout=120)
    return result, out


def check(case, tmp_path, mode="jit"):
    result, out = run(case, tmp_path, mode)
    assert result.returncode >= 0, f"killed by signal {-result.returncode}:\n{result.stderr[-2000:]}"
    assert "Stack dump" not in result.stderr and "LLVM ERROR" not in result.stderr, result.stderr
    if case.error is not None:
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
        assert result.stderr.startswith("error: "), result.stderr
        # Bounds-checked kernels (the test command's second run) may stop at a
        # runtime verification of a fused loop before bathy's own check.
        bounds_checked = os.environ.get("BATHY_CHECK_BOUNDS") == "1" and \
            "Runtime op verification failed" in result.stderr
        assert case.error in result.stderr or bounds_checked, result.stderr
        assert "see current operation" not in result.stderr, result.stderr
        return
    assert result.returncode == 0, result.stderr[-2000:]
    for name, want in case.expect.items():
        got = np.load(out / f"{name}.npy")
        assert got.shape == np.shape(want), (name, got.shape, np.shape(want))
        if np.issubdtype(got.dtype, np.floating):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


f32 = np.float32
COS = "g (int64[2] s) => (float[?,?] y) { y = ConstantOfShape <value = float[1] {1}> (s) }"
RESHAPE = "g (float[2,3] x, int64[2] s) => (float[?,?] y) { y = Reshape (x, s) }"
X23 = np.arange(6, dtype=f32).reshape(2, 3)
RANGE_I = "g (int64 a, int64 b, int64 d) => (int64[?] y) { y = Range (a, b, d) }"
RANGE_F = "g (float a, float b, float d) => (float[?] y) { y = Range (a, b, d) }"
TABLE = ("t = Constant <value = float[3,4] {0,1,2,3,4,5,6,7,8,9,10,11}> ()\n")
NAN4 = np.array([np.nan, 1, -1, 0], f32)


def i64(*v):
    return np.array(v, np.int64)


CASES = [
    # 1. Sizes from run-time values that overflow or are negative.
    Case("constant_of_shape_wraps", COS, {"s": i64(3, 2**62 + 1)},
         error="node 'ConstantOfShape_0' (ConstantOfShape): a ?x?xf32 result "
               "with dynamic sizes [3, 4611686018427387905] has too many bytes"),
    Case("constant_of_shape_2^80", COS, {"s": i64(2**40, 2**40)},
         error="dynamic sizes [1099511627776, 1099511627776] has too many bytes"),
    Case("constant_of_shape_negative", COS, {"s": i64(-3, 2)},
         error="is negative: -3"),
    # 2. Shape contracts the compiler cannot prove.
    Case("reshape_more_elements", RESHAPE, {"x": X23, "s": i64(4, 4)},
         error="node 'Reshape_0' (Reshape): cannot reshape 6 elements into a "
               "shape whose sizes (other than -1) multiply to 16"),
    Case("reshape_negative_entry", RESHAPE, {"x": X23, "s": i64(-2, 3)},
         error="shape entry 0 is -2; entries must be >= -1"),
    Case("reshape_overflowing_product", RESHAPE, {"x": X23, "s": i64(2**40, 2**40)},
         error="the sizes of the shape overflow"),
    Case("reshape_product_wraps_to_count", RESHAPE, {"x": np.zeros((3, 4), f32)[:2, :3].copy(),
                                                     "s": i64(2**62 + 3, 4)},
         error="the sizes of the shape overflow"),
    Case("reshape_infer_not_divisible", RESHAPE, {"x": X23, "s": i64(-1, 4)},
         error="cannot reshape 6 elements into a shape whose sizes (other than -1) multiply to 4"),
    Case("reshape_two_infers", RESHAPE, {"x": X23, "s": i64(-1, -1)},
         error="the shape has 2 entries of -1"),
    Case("reshape_valid", RESHAPE, {"x": X23, "s": i64(3, -1)},
         expect={"y": X23.reshape(3, 2)}),
    Case("reshape_zero_copies_dim", RESHAPE, {"x": X23, "s": i64(0, 3)},
         expect={"y": X23}),
    Case("matmul_inner_dims", "g (float[2,k] a, float[m,3] b) => (float[2,3] y) { y = MatMul (a, b) }",
         {"a": np.ones((2, 300), f32), "b": np.ones((200, 3), f32)},
         error="node 'MatMul_0' (MatMul): the inner dims differ: 300 vs 200"),
    Case("matmul_batch", "g (float[b,2,4] a, float[c,4,3] b) => (float[?,2,3] y) { y = MatMul (a, b) }",
         {"a": np.ones((5, 2, 4), f32), "b": np.ones((3, 4, 3), f32)},
         error="the second operand's batch dim 0 has size 3, which does not broadcast to 5"),
    Case("matmul_batch_static_vs_dynamic", "g (float[b,2,4] a, float[3,4,3] b) => (float[3,2,3] y) { y = MatMul (a, b) }",
         {"a": np.ones((5, 2, 4), f32), "b": np.ones((3, 4, 3), f32)},
         error="does not broadcast to 3"),
    Case("matmul_batch_broadcasts", "g (float[b,2,4] a, float[c,4,3] b) => (float[?,2,3] y) { y = MatMul (a, b) }",
         {"a": np.ones((1, 2, 4), f32), "b": np.ones((3, 4, 3), f32)},
         expect={"y": np.full((3, 2, 3), 4, f32)}),
    Case("matmul_vector_inner", "g (float[k] a, float[m,3] b) => (float[3] y) { y = MatMul (a, b) }",
         {"a": np.ones((7,), f32), "b": np.ones((5, 3), f32)},
         error="the inner dims differ: 7 vs 5"),
    Case("gemm_inner_dims", "g (float[2,k] a, float[m,3] b) => (float[2,3] y) { y = Gemm (a, b) }",
         {"a": np.ones((2, 30), f32), "b": np.ones((20, 3), f32)},
         error="node 'Gemm_0' (Gemm): the inner dims differ: 30 vs 20"),
    Case("layer_norm_short_scale", "g (float[2,n] x, float[m] s) => (float[2,n] y) { y = LayerNormalization <axis=-1> (x, s) }",
         {"x": np.ones((2, 8), f32), "s": np.ones((3,), f32)},
         error="node 'LayerNormalization_0' (LayerNormalization): scale dim 0 has size 3, "
               "which does not broadcast to 8"),
    Case("layer_norm_static_scale_dynamic_input", "g (float[2,n] x) => (float[2,n] y) {\n"
         "s = Constant <value = float[4] {1, 1, 1, 1}> ()\n y = LayerNormalization <axis=-1> (x, s) }",
         {"x": np.ones((2, 8), f32)},
         error="scale dim 0 has size 4, but the input's dim 1 is 8"),
    Case("concat_other_dims", "g (float[2,n] a, float[2,m] b) => (float[4,?] y) { y = Concat <axis=0> (a, b) }",
         {"a": np.ones((2, 5), f32), "b": np.ones((2, 3), f32)},
         error="node 'Concat_0' (Concat): input 1 has size 3 in dim 1, input 0 has 5"),
    Case("batch_norm_channels", "g (float[n,c,2] x, float[k] s) => (float[n,c,2] y) {\n"
         "y = BatchNormalization (x, s, s, s, s) }",
         {"x": np.ones((1, 4, 2), f32), "s": np.ones((3,), f32)},
         error="has 3 values for 4 channels"),
    # 3. Constant folding defines integer division by zero (0, as NumPy).
    Case("fold_div_by_zero", "g () => (int64[2] y) {\n"
         "a = Constant <value = int64[2] {7, 8}> ()\n b = Constant <value = int64[2] {0, 0}> ()\n"
         "y = Div (a, b) }", expect={"y": i64(0, 0)}),
    Case("fold_mod_by_zero", "g () => (int64[2] y) {\n"
         "a = Constant <value = int64[2] {7, 8}> ()\n b = Constant <value = int64[2] {0, 0}> ()\n"
         "y = Mod (a, b) }", expect={"y": i64(0, 0)}),
    Case("fold_min_by_minus_one", "g () => (int64[1] y) {\n"
         "a = Constant <value = int64[1] {-9223372036854775808}> ()\n b = Constant <value = int64[1] {-1}> ()\n"
         "y = Div (a, b) }", expect={"y": i64(-2**63)}),
    # 5. No SIGFPE from run-time values.
    Case("div_by_zero", "g (int64[3] a, int64[3] b) => (int64[3] y) { y = Div (a, b) }",
         {"a": i64(7, -2**63, 9), "b": i64(0, -1, 2)}, expect={"y": i64(0, -2**63, 4)}),
    Case("mod_by_zero", "g (int64[3] a, int64[3] b) => (int64[3] y) { y = Mod (a, b) }",
         {"a": i64(7, -2**63, -7), "b": i64(0, -1, 3)}, expect={"y": i64(0, 0, 2)}),
    Case("div_i32", "g (int32[2] a, int32[2] b) => (int32[2] y) { y = Div (a, b) }",
         {"a": np.array([5, -2**31], np.int32), "b": np.array([0, -1], np.int32)},
         expect={"y": np.array([0, -2**31], np.int32)}),
    Case("range_zero_delta", RANGE_I, {"a": i64(0)[0], "b": i64(5)[0], "d": i64(0)[0]},
         error="node 'Range_0' (Range): delta is 0"),
    Case("range_float_zero_delta", RANGE_F, {"a": f32(0), "b": f32(5), "d": f32(0)},
         error="delta is 0"),
    Case("range_float_nan", RANGE_F, {"a": f32(0), "b": f32(np.nan), "d": f32(1)},
         error="too many elements (or a NaN bound)"),
    Case("range_count_overflows", RANGE_I, {"a": i64(-2**63)[0], "b": i64(2**63 - 1)[0], "d": i64(1)[0]},
         error="has too many elements"),
    Case("range_too_large", RANGE_I, {"a": i64(0)[0], "b": i64(2**40)[0], "d": i64(1)[0]},
         error="cannot allocate a buffer of 8.0 TiB"),
    Case("range_negative_delta", RANGE_I, {"a": i64(5)[0], "b": i64(-4)[0], "d": i64(-3)[0]},
         expect={"y": i64(5, 2, -1)}),
    Case("range_huge_delta", RANGE_I, {"a": i64(-2**62)[0], "b": i64(2**62)[0], "d": i64(2**62 + 1)[0]},
         expect={"y": i64(-2**62, 1)}),
    # 9. Out-of-range indices are errors, not clamped.
    Case("gather_past_table", "g (int64[n] ids) => (float[n,4] y) {" + TABLE + "y = Gather <axis=0> (t, ids) }",
         {"ids": i64(1, 150)},
         error="node 'Gather_1' (Gather): index 150 is out of range for axis 0 of size 3"),
    Case("gather_far_negative", "g (int64[n] ids) => (float[n,4] y) {" + TABLE + "y = Gather <axis=0> (t, ids) }",
         {"ids": i64(-10**9)}, error="index -1000000000 is out of range for axis 0 of size 3"),
    Case("gather_negative_counts_from_end", "g (int64[n] ids) => (float[n,4] y) {" + TABLE + "y = Gather <axis=0> (t, ids) }",
         {"ids": i64(-1, 0)}, expect={"y": np.array([[8, 9, 10, 11], [0, 1, 2, 3]], f32)}),
    Case("gather_int32_indices", "g (int32[n] ids) => (float[n,4] y) {" + TABLE + "y = Gather <axis=1> (t, ids) }",
         {"ids": np.array([4], np.int32)}, error="index 4 is out of range for axis 1 of size 4"),
    Case("gather_constant_index", "g (float[3,4] x) => (float[4] y) {\n"
         "i = Constant <value = int64 {7}> ()\n y = Gather <axis=0> (x, i) }",
         {"x": np.ones((3, 4), f32)}, error="index 7 is out of range for dim 0 of size 3"),
    Case("gather_elements_index", "g (float[2,4] x, int64[2,n] i) => (float[2,n] y) { y = GatherElements <axis=1> (x, i) }",
         {"x": np.ones((2, 4), f32), "i": i64(0, 99, 1, 2).reshape(2, 2)},
         error="node 'GatherElements_0' (GatherElements): index 99 is out of range for axis 1 of size 4"),
    Case("gather_elements_wider_indices", "g (float[n,4] x, int64[m,2] i) => (float[m,2] y) { y = GatherElements <axis=1> (x, i) }",
         {"x": np.ones((2, 4), f32), "i": np.zeros((5, 2), np.int64)},
         error="the indices have size 5 in dim 0, more than the data's 2"),
    # 10. Broadcasts that do not fit.
    Case("add_rows_3_vs_2", "g (float[a,4] x, float[b,4] z) => (float[?,4] y) { y = Add (x, z) }",
         {"x": np.ones((3, 4), f32), "z": np.ones((2, 4), f32)},
         error="node 'Add_0' (Add): operand 1 dim 0 has size 2, which does not broadcast to 3"),
    Case("add_rows_0_vs_3", "g (float[a,4] x, float[b,4] z) => (float[?,4] y) { y = Add (x, z) }",
         {"x": np.ones((0, 4), f32), "z": np.ones((3, 4), f32)},
         error="operand 1 dim 0 has size 3, which does not broadcast to 0"),
    Case("add_static_vs_dynamic", "g (float[a,4] x, float[3,4] z) => (float[3,4] y) { y = Add (x, z) }",
         {"x": np.ones((2, 4), f32), "z": np.ones((3, 4), f32)},
         error="does not broadcast to 3"),
    Case("add_dynamic_one_broadcasts", "g (float[a,4] x, float[b,4] z) => (float[?,4] y) { y = Add (x, z) }",
         {"x": np.ones((1, 4), f32), "z": np.ones((3, 4), f32)},
         expect={"y": np.full((3, 4), 2, f32)}),
    Case("where_three_way", "g (bool[a] c, float[b] x, float[d] z) => (float[?] y) { y = Where (c, x, z) }",
         {"c": np.array([True, False]), "x": np.ones((2,), f32), "z": np.ones((3,), f32)},
         error="does not broadcast to 2"),
    Case("expand_to_wider", "g (float[1,3] x, int64[2] s) => (float[?,?] y) { y = Expand (x, s) }",
         {"x": np.ones((1, 3), f32), "s": i64(4, 5)},
         error="node 'Expand_0' (Expand): the input's dim 1 of size 3 does not broadcast to the shape's 5"),
    Case("expand_dynamic_input", "g (float[n] x, int64[1] s) => (float[?] y) { y = Expand (x, s) }",
         {"x": np.ones((3,), f32), "s": i64(5)},
         error="does not broadcast"),
    Case("expand_valid", "g (float[1,3] x, int64[2] s) => (float[?,?] y) { y = Expand (x, s) }",
         {"x": np.arange(3, dtype=f32).reshape(1, 3), "s": i64(2, 1)},
         expect={"y": np.tile(np.arange(3, dtype=f32), (2, 1))}),
    Case("reshape_to_minus_one_by_four", RESHAPE, {"x": X23, "s": i64(-1, 4)},
         error="cannot reshape 6 elements"),
    # 11. NaN in, NaN out (also inside GEMM and convolution epilogues).
    Case("nan_relu_clip_hardsigmoid_sign", "g (float[4] x) => (float[4] r, float[4] c, float[4] h, float[4] s) {\n"
         "lo = Constant <value = float {0}> ()\n hi = Constant <value = float {0.5}> ()\n"
         "r = Relu (x)\n c = Clip (x, lo, hi)\n h = HardSigmoid (x)\n s = Sign (x) }",
         {"x": NAN4},
         expect={"r": np.array([np.nan, 1, 0, 0], f32), "c": np.array([np.nan, 0.5, 0, 0], f32),
                 "h": np.array([np.nan, 0.7, 0.3, 0.5], f32), "s": np.array([np.nan, 1, -1, 0], f32)}),
    Case("nan_through_gemm_relu", "g (float[2,2] a) => (float[2,2] y) {\n"
         "w = Constant <value = float[2,2] {1, 0, 0, 1}> ()\n m = MatMul (a, w)\n y = Relu (m) }",
         {"a": np.array([[np.nan, -1], [2, -3]], f32)},
         expect={"y": np.array([[np.nan, np.nan], [2, 0]], f32)}),
    Case("nan_through_conv_clip", "g (float[1,1,2,2] x) => (float[1,1,2,2] y) {\n"
         "w = Constant <value = float[1,1,1,1] {1}> ()\n c = Conv (x, w)\n"
         "lo = Constant <value = float {0}> ()\n hi = Constant <value = float {6}> ()\n y = Clip (c, lo, hi) }",
         {"x": np.array([np.nan, -1, 3, 9], f32).reshape(1, 1, 2, 2)},
         expect={"y": np.array([np.nan, 0, 3, 6], f32).reshape(1, 1, 2, 2)}),
    Case("nan_max_pool_and_reduce_max", "g (float[1,1,2,2] x) => (float[1,1,1,1] p, float[1] m) {\n"
         "p = MaxPool <kernel_shape = [2, 2]> (x)\n m = ReduceMax <keepdims = 0, axes = [1, 2, 3]> (x) }",
         {"x": np.array([1, np.nan, 3, 2], f32).reshape(1, 1, 2, 2)},
         expect={"p": np.full((1, 1, 1, 1), np.nan, f32), "m": np.full((1,), np.nan, f32)}),
    # 12. Softplus does not overflow.
    Case("softplus_large", "g (float[5] x) => (float[5] y) { y = Softplus (x) }",
         {"x": np.array([89, 100, 1000, -1000, 0], f32)},
         expect={"y": np.array([89, 100, 1000, 0, np.log(2)], f32)}),
    # 13. Slice and Range counts at the int64 limits.
    Case("slice_step_int64_max", "g (float[3,4] x) => (float[3,1] y) {\n"
         "st = Constant <value = int64[1] {0}> ()\n en = Constant <value = int64[1] {9223372036854775807}> ()\n"
         "ax = Constant <value = int64[1] {1}> ()\n sp = Constant <value = int64[1] {9223372036854775807}> ()\n"
         "y = Slice (x, st, en, ax, sp) }",
         {"x": np.arange(12, dtype=f32).reshape(3, 4)},
         expect={"y": np.array([[0], [4], [8]], f32)}),
    Case("slice_step_int64_min", "g (float[3,4] x) => (float[3,1] y) {\n"
         "st = Constant <value = int64[1] {-1}> ()\n en = Constant <value = int64[1] {-9223372036854775808}> ()\n"
         "ax = Constant <value = int64[1] {1}> ()\n sp = Constant <value = int64[1] {-9223372036854775808}> ()\n"
         "y = Slice (x, st, en, ax, sp) }",
         {"x": np.arange(12, dtype=f32).reshape(3, 4)},
         expect={"y": np.array([[3], [7], [11]], f32)}),
]


def constant_range(start, limit, delta, ty="int64"):
    """Range over constants: its count is computed at compile time, by the
    same rule as the run-time count (shape::rangeCount)."""
    return (f"g ({ty}[1] x) => ({ty}[?] y) {{\n"
            f" a = Constant <value = {ty} {{{start}}}> ()\n"
            f" b = Constant <value = {ty} {{{limit}}}> ()\n"
            f" d = Constant <value = {ty} {{{delta}}}> ()\n"
            " r = Range (a, b, d)\n y = Add (r, x) }")


CASES += [
    # In double arithmetic 2^60 + 10 - 2^60 is 0: the compile-time count
    # was 0 and the output empty, while the run-time rule gave ten.
    Case("constant_range_of_large_integers",
         constant_range(2**60, 2**60 + 10, 1), {"x": np.zeros(1, np.int64)},
         expect={"y": np.arange(2**60, 2**60 + 10, dtype=np.int64)}),
    Case("constant_range_across_int64",
         constant_range(-2**63, 2**63 - 1, 2 * 10**18), {"x": np.zeros(1, np.int64)},
         expect={"y": np.array([-2**63 + k * 2 * 10**18 for k in range(10)], np.int64)}),
    # f32 counts in f32 (3), as ONNX's reference does; f64 would say 4.
    Case("constant_range_counts_in_float32",
         constant_range("0.0", "0.3", "0.1", "float"), {"x": np.zeros(1, f32)},
         expect={"y": np.arange(f32(0), f32(0.3), f32(0.1), dtype=f32)}),
    Case("constant_range_beyond_int64",
         constant_range(-2**63, 2**63 - 1, 1), {"x": np.zeros(1, np.int64)},
         error="has too many elements"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_runtime_input(case, tmp_path):
    check(case, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_runtime_input_on_an_artifact(case, tmp_path):
    check(case, tmp_path, mode="artifact")


def test_rotary_embedding_position_past_the_cache(tmp_path):
    """RotaryEmbedding-23 gathers its caches by position id: a position past
    the cache is an error naming the node, not the cache's last row."""
    model = onnx.parser.parse_model(
        '< ir_version: 10, opset_import: ["" : 23] >\n'
        "g (float[1,2,4] x, int64[1,2] pos) => (float[1,2,4] y) {\n"
        " c = Constant <value = float[3,2] {1,1,1,1,1,1}> ()\n"
        " s = Constant <value = float[3,2] {0,0,0,0,0,0}> ()\n"
        " y = RotaryEmbedding <num_heads = 1> (x, c, s, pos) }")
    onnx.save(model, tmp_path / "rot.onnx")
    np.save(tmp_path / "x.npy", np.ones((1, 2, 4), np.float32))
    for pos, ok in (([[0, 2]], True), ([[0, 150]], False), ([[-4, 0]], False)):
        np.save(tmp_path / "pos.npy", np.array(pos, np.int64))
        r = subprocess.run([tool("bathy-run"), str(tmp_path / "rot.onnx"),
                            f"--input=x={tmp_path / 'x.npy'}",
                            f"--input=pos={tmp_path / 'pos.npy'}"],
                           capture_output=True, text=True, timeout=120)
        if ok:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode == 1, r.stderr
            assert "node 'RotaryEmbedding_2' (RotaryEmbedding): index" in r.stderr, r.stderr
            assert "out of range for axis 0 of size 3" in r.stderr, r.stderr

"""What a new user trips over on the command line: names that do not exist,
flags that disagree, files written under other names, sizes that cannot fit,
help and version text. Every mistake is an error that says what would have
been valid; nothing is silently ignored. Issue #15, items 4, 17-22, 24."""
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import pytest

from onnx_node_tests import tool

ROOT = Path(__file__).resolve().parents[2]
CNN = str(ROOT / "models" / "tiny_cnn.onnxtext")
HEADER = '< ir_version: 8, opset_import: ["" : 17] >\n'


def bathy_run(*args, timeout=120):
    return subprocess.run([tool("bathy-run"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def expect_error(result, *needles):
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "error: " in result.stderr, result.stderr
    for n in needles:
        assert n in result.stderr, result.stderr


def model(tmp_path, graph, name="m.onnx"):
    path = tmp_path / name
    onnx.save(onnx.parser.parse_model(HEADER + graph), path)
    return path


def test_dim_typo_lists_the_valid_names():
    expect_error(bathy_run(CNN, "--dim=batc=2"),
                 "--dim: the model has no dynamic dim named 'batc'; its dim_params are: batch")


def test_repeated_flags_are_errors(tmp_path):
    expect_error(bathy_run(CNN, "--dim=batch=2", "--dim=batch=3"), "--dim batch is given twice")
    np.save(tmp_path / "a.npy", np.zeros((1, 3, 16, 16), np.float32))
    expect_error(bathy_run(CNN, f"--input=image={tmp_path / 'a.npy'}",
                           f"--input=image={tmp_path / 'a.npy'}"),
                 "--input image is given twice")


def test_dim_that_disagrees_with_an_input_file(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 3, 16, 16), np.float32))
    expect_error(bathy_run(CNN, f"--input=image={tmp_path / 'a.npy'}", "--dim=batch=3"),
                 "--dim batch=3 disagrees with input 'image', whose its file has batch = 2")


def test_unknown_input_lists_the_inputs_with_types(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((1, 3, 16, 16), np.float32))
    expect_error(bathy_run(CNN, f"--input=x={tmp_path / 'a.npy'}"),
                 "the model has no input named 'x'; its inputs are:",
                 "image: f32[batch, 3, 16, 16]")


def test_input_files_are_checked_before_compiling(tmp_path):
    """A missing file is reported at once: the message comes before any
    compile progress, and names the flag."""
    r = bathy_run(CNN, f"--input=image={tmp_path / 'missing.npy'}")
    expect_error(r, "--input image: cannot read", "missing.npy")


def test_shape_flag_sets_dims_without_dim_param(tmp_path):
    # x has a dynamic dim with no dim_param: only --shape can set it.
    path = model(tmp_path, "g (float[?, 4] x) => (float[?, 4] y) { y = Relu (x) }")
    r = bathy_run(path, "--shape=x=5x4")
    assert r.returncode == 0, r.stderr
    assert "output 'y': f32 [5, 4]" in r.stdout
    expect_error(bathy_run(path, "--shape=x=5x3"),
                 "input 'x' dim 1 must be 4 (f32[?, 4]), but --shape gives 3")
    expect_error(bathy_run(path, "--shape=x=5"), "input 'x' has rank 2")
    expect_error(bathy_run(path, "--shape=y=5x4"), "--shape: the model has no input named 'y'")
    expect_error(bathy_run(path, "--shape=x=5xq"), "--shape expects NAME=D0xD1x...")
    expect_error(bathy_run(path, "--dim=n=3"), "it has no named dynamic dims (use --shape)")


def test_shape_flag_with_static_shapes(tmp_path):
    path = model(tmp_path, "g (float[?, 4] x) => (float[?, 4] y) { y = Relu (x) }")
    r = bathy_run(path, "--shape=x=7x4", "--static-shapes", "--print-plan")
    assert r.returncode == 0, r.stderr
    assert "input %0 'x': f32[7, 4]" in r.stdout


def test_output_names_are_printed_and_collisions_kept_apart(tmp_path):
    path = model(tmp_path, 'g (float[2] x) => (float[2] "a/b", float[2] a_b, float[2] "a b") {\n'
                 ' "a/b" = Relu (x)\n a_b = Neg (x)\n "a b" = Abs (x) }')
    out = tmp_path / "out"
    np.save(tmp_path / "x.npy", np.array([-1, 2], np.float32))
    r = bathy_run(path, f"--input=x={tmp_path / 'x.npy'}", f"--output-dir={out}")
    assert r.returncode == 0, r.stderr
    assert f"output 'a/b': f32 [2] -> {out / 'a_b.npy'}" in r.stdout
    assert f"output 'a_b': f32 [2] -> {out / 'a_b_1.npy'}" in r.stdout
    assert f"output 'a b': f32 [2] -> {out / 'a_b_2.npy'}" in r.stdout
    np.testing.assert_array_equal(np.load(out / "a_b.npy"), [0, 2])
    np.testing.assert_array_equal(np.load(out / "a_b_1.npy"), [1, -2])
    np.testing.assert_array_equal(np.load(out / "a_b_2.npy"), [1, 2])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float", "int32", "bool"])
def test_save_inputs_reproduces_a_random_run(tmp_path, dtype):
    """Random inputs of every type are saved and give the same outputs when
    fed back; f16 inputs are not all zeros."""
    path = model(tmp_path, f"g ({dtype}[n, 3] x) => (float[n, 3] y) {{ y = Cast <to = 1> (x) }}")
    saved, out1, out2 = tmp_path / "in", tmp_path / "o1", tmp_path / "o2"
    r = bathy_run(path, "--dim=n=4", f"--save-inputs={saved}", f"--output-dir={out1}", "--seed=3")
    if dtype == "bfloat16":
        # NumPy has no bfloat16: refused before compiling, not lost.
        expect_error(r, "--save-inputs: input 'x' is bf16, which .npy files cannot hold")
        r = bathy_run(path, "--dim=n=4", f"--output-dir={out1}", "--seed=3")
    assert r.returncode == 0, r.stderr
    if dtype != "bfloat16":
        assert f"wrote input 'x' to {saved / 'x.npy'}" in r.stdout
    y = np.load(out1 / "y.npy")
    assert y.shape == (4, 3)
    if dtype not in ("bool",):
        assert np.count_nonzero(y) > 6, y
    if dtype == "bfloat16":
        return
    r = bathy_run(path, f"--input=x={saved / 'x.npy'}", f"--output-dir={out2}")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(out2 / "y.npy"), y)


def test_max_memory_refuses_what_does_not_fit(tmp_path):
    expect_error(bathy_run(CNN, "--dim=batch=100000", "--max-memory=1M"),
                 "random input 'image': a f32 tensor of shape [100000, 3, 16, 16] needs 293.0 MiB, "
                 "more than the memory limit of 1.0 MiB (--max-memory)")
    expect_error(bathy_run(CNN, "--max-memory=lots"), "--max-memory: expected a byte count")
    r = bathy_run(CNN, "--max-memory=64M")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("graph,needle", [
    ("g (float[1] x) => (float[?] y) { s = Constant <value = int64[1] {1099511627776}> ()\n"
     " y = ConstantOfShape <value = float[1] {1}> (s) }",
     "node 'ConstantOfShape_1' (ConstantOfShape)"),
    ("g (float[1,3] x) => (float[?,3] y) { s = Constant <value = int64[2] {1099511627776, 3}> ()\n"
     " y = Expand (x, s) }", "node 'Expand_1' (Expand)"),
    ("g (float[2,3] x) => (float[?,?] y) { p = Constant <value = int64[4] {0, 0, 1099511627776, 0}> ()\n"
     " y = Pad (x, p) }", "node 'Pad_1' (Pad)"),
    ("g (float[1] x) => (int64[?] y) { a = Constant <value = int64 {0}> ()\n"
     " b = Constant <value = int64 {1099511627776}> ()\n d = Constant <value = int64 {1}> ()\n"
     " y = Range (a, b, d) }", "node 'Range_3' (Range)"),
    ("g (float[1,1,4,4] x) => (float[?,?,?,?] y) { w = Constant <value = float[1,1,1,1] {1}> ()\n"
     " y = Conv <pads = [1099511627776, 0, 0, 0]> (x, w) }", "node 'Conv_1' (Conv)"),
    ("g (float[1099511627776] x) => (float[1099511627776] y) { y = Relu (x) }",
     "input 'x' of type 'tensor<1099511627776xf32>' needs 4.0 TiB"),
    ("g (float[1099511627776, 1099511627776] x) => (float[1099511627776, 1099511627776] y) {"
     " y = Relu (x) }", "has more bytes than memory can address"),
])
def test_static_sizes_beyond_memory(tmp_path, graph, needle):
    expect_error(bathy_run(model(tmp_path, graph)), needle)


def test_huge_dim_values(tmp_path):
    path = model(tmp_path, "g (float[batch, 4] x) => (float[batch, 4] y) { y = Relu (x) }")
    expect_error(bathy_run(path, "--dim=batch=99999999999"), "needs 1.5 TiB")
    expect_error(bathy_run(path, "--dim=batch=99999999999", "--static-shapes"),
                 "tensor<99999999999x4xf32>' needs 1.5 TiB")
    expect_error(bathy_run(path, "--threads=100000"), "--threads expects 0 <= N <= 1024")


def test_errors_do_not_dump_ir_unless_debug(tmp_path):
    # A convolution whose weight has run-time spatial sizes has no CPU
    # lowering: the error names the node, the IR only comes with --debug.
    path = model(tmp_path, "g (float[1,2,8,8] x, float[4,2,k,k] w) => (float[1,4,?,?] y) {\n"
                 " y = Conv (x, w) }")
    r = bathy_run(path)
    expect_error(r, "node 'Conv_0' (Conv)")
    assert "see current operation" not in r.stderr, r.stderr
    r = bathy_run(path, "--debug")
    assert "see current operation" in r.stderr, r.stderr


def test_version_names_bathy_and_llvm():
    for name in ("bathy-run", "bathy-opt", "bathy-import"):
        r = subprocess.run([tool(name), "--version"], capture_output=True, text=True)
        assert r.returncode == 0
        assert f"{name}: bathy 0." in r.stdout, r.stdout
        assert "built with LLVM and MLIR 22" in r.stdout, r.stdout


def test_help_is_about_bathy():
    r = subprocess.run([tool("bathy-opt"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "--amdgpu" not in r.stdout and "--aarch64" not in r.stdout and "--arm-" not in r.stdout
    assert "--bathy-cpu-lower-checks" in r.stdout
    assert len(r.stdout.splitlines()) < 1000
    r = bathy_run("--help")
    for flag in ("--threads=<N>", "--max-memory", "--shape", "--save-inputs", "--quiet", "--debug"):
        assert flag in r.stdout, (flag, r.stdout)


def test_progress_only_on_a_terminal_and_quiet_silences_it(tmp_path):
    r = bathy_run(CNN)
    assert r.returncode == 0
    assert r.stderr == "", r.stderr
    # `script` (util-linux, on every Debian) gives bathy-run a terminal.
    cmd = f"{tool('bathy-run')} {CNN} --no-cache"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=120)
    assert "importing" in r.stdout and "compiled" in r.stdout, r.stdout
    # From the compile cache (filled by the run above without --no-cache).
    r = subprocess.run(["script", "-qec", f"{tool('bathy-run')} {CNN}", "/dev/null"],
                       capture_output=True, text=True, timeout=120)
    assert "loading the compiled model from the cache" in r.stdout, r.stdout
    r = subprocess.run(["script", "-qec", cmd + " --quiet", "/dev/null"], capture_output=True,
                       text=True, timeout=120)
    assert "importing" not in r.stdout, r.stdout

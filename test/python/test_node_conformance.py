"""Runs ONNX's node conformance tests through bathy-run: on the CPU, and
through the CUDA target's kernels on the CPU (--device=cuda-emu).

Every node test whose ops bathy imports (see test_node_import.py) is
compiled and run on its test_data_set_0 inputs, and its outputs compared
with the expected ones at the ONNX backend-test tolerances (rtol 1e-3,
atol 1e-7; 1e-3 for float16). A test must pass or be listed in
conformance_expected_failures.txt with its reason; a listed test that passes
fails this test, so the list stays honest. The CUDA emulation has its own
list (conformance_cuda_emu_expected_failures.txt). The pass count is printed.
"""
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from onnx_node_tests import node_tests, tool
from test_node_import import load_expected_failures

HERE = Path(__file__).parent


def load_pb(path):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def first_line(text):
    lines = [l for l in text.strip().splitlines() if l.startswith("error:")]
    return (lines or text.strip().splitlines() or ["?"])[0][:300]


def run_case(item, device="cpu"):
    """(name, status, detail): status is pass, fail or out of scope."""
    try:
        return run_one(item, device)
    except Exception as e:  # unreadable test data is a failure, not a crash
        return item[0], "fail", f"test data: {type(e).__name__}: {e}"[:300]


def run_one(item, device="cpu"):
    name, directory = item
    model = onnx.load(directory / "model.onnx", load_external_data=False)
    # Sequences, maps and optionals are outside bathy's scope (the importer
    # refuses them); their test data is not plain tensors either.
    for value in list(model.graph.input) + list(model.graph.output):
        if not value.type.HasField("tensor_type"):
            return name, "out of scope", ""
    data = directory / "test_data_set_0"
    init = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in init]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args = []
        for i, input_name in enumerate(inputs):
            pb = data / f"input_{i}.pb"
            if not pb.exists():
                return name, "fail", "missing input data"
            value = load_pb(pb)
            f = tmp / f"in{i}.npy"
            np.save(f, value)
            args.append(f"--input={input_name}={f}")
        out = tmp / "out"
        result = subprocess.run(
            [tool("bathy-run"), str(directory / "model.onnx"), f"--output-dir={out}",
             f"--device={device}", *args],
            capture_output=True, text=True, errors="replace", timeout=300)
        if result.returncode != 0:
            err = result.stderr
            if "unsupported .npy dtype" in err:
                # bathy-run reads its inputs before importing: whether the
                # test is in scope is the importer's answer.
                imported = subprocess.run(
                    [tool("bathy-import"), str(directory / "model.onnx"), "-o", "/dev/null"],
                    capture_output=True, text=True, errors="replace", timeout=300)
                err = imported.stderr + err
            if "cannot import:" in err or "bathy supports opsets up to" in err:
                return name, "out of scope", ""
            if "Stack dump" in err or result.returncode < 0:
                return name, "fail", "CRASH " + first_line(err)
            return name, "fail", first_line(err)
        for i, output in enumerate(model.graph.output):
            expected = load_pb(data / f"output_{i}.pb")
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in output.name)
            got = np.load(out / f"{safe}.npy")
            if got.shape != expected.shape:
                return name, "fail", f"output {output.name}: shape {got.shape} != {expected.shape}"
            if expected.dtype.kind in "fc":
                tol = 1e-3 if expected.dtype == np.float16 else 1e-7
                ok = np.allclose(got.astype(np.float64), expected.astype(np.float64),
                                 rtol=1e-3, atol=tol, equal_nan=True)
            else:
                ok = np.array_equal(got, expected)
            if not ok:
                return name, "fail", f"output {output.name}: values differ"
    return name, "pass", ""


def check_conformance(device, expected_file):
    import_failures = load_expected_failures(HERE / "import_expected_failures.txt")
    expected = load_expected_failures(HERE / expected_file)
    cases = [c for c in node_tests() if c[0] not in import_failures]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: run_case(c, device), cases))
    in_scope = [r for r in results if r[1] != "out of scope"]
    passed = [r for r in in_scope if r[1] == "pass"]
    failed = [r for r in in_scope if r[1] == "fail"]
    unexpected = [r for r in failed if r[0] not in expected]
    now_passing = [r[0] for r in passed if r[0] in expected]
    crashed = [r for r in failed if r[2].startswith("CRASH")]
    print(f"\nnode conformance ({device}): {len(in_scope)} in scope, {len(passed)} pass, "
          f"{len(failed)} fail ({len(failed) - len(unexpected)} expected)")
    for name, _, detail in unexpected:
        print(f"UNEXPECTED FAILURE {name}: {detail}")
    for name in now_passing:
        print(f"NOW PASSES (remove from the list): {name}")
    assert not crashed, f"crashes: {[c[0] for c in crashed]}"
    assert not unexpected, f"{len(unexpected)} node tests fail unexpectedly"
    assert not now_passing, f"listed as failing but pass: {now_passing}"


def test_node_conformance():
    check_conformance("cpu", "conformance_expected_failures.txt")


def test_node_conformance_cuda_emu():
    check_conformance("cuda-emu", "conformance_cuda_emu_expected_failures.txt")

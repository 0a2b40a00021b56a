"""The CUDA target without a GPU.

- Every suite model runs through its CUDA kernels on the CPU
  (bathy-run --device=cuda-emu: the emitted CUDA C++ built by the host
  compiler against bathy's emulation header) and matches onnxruntime at the
  CPU path's tolerance. (The node conformance tests do the same in
  test_node_conformance.py.)
- Every kernel of the suite models and of the in-scope ONNX node tests
  compiles through NVRTC (bathyc --target=cuda), for sm_80 and sm_90 plus
  PTX; ptxas's register and spill report is read, and a kernel that spills
  is a failure.
- --device=cuda without a driver, or with the toolkit's link stub, fails
  with a message saying what is missing; bad --device / --cuda-arch values
  are errors.
"""
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import onnx
import onnx.parser
import pytest

from onnx_node_tests import node_tests, tool
from test_e2e_cpu import ROOT, TEXT_MODELS, VISION, run_both
from test_node_import import load_expected_failures

HERE = Path(__file__).parent
STUB = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "lib64" / "stubs" / "libcuda.so"
EMU = ("--device=cuda-emu",)


@pytest.mark.parametrize("batch", [1, 3])
def test_cuda_emu_bundled_cnn(tmp_path, batch):
    path = ROOT / "models" / "tiny_cnn.onnxtext"
    run_both(path, onnx.parser.parse_model(path.read_text()), {"batch": batch}, tmp_path, EMU)


@pytest.mark.parametrize("name", VISION)
def test_cuda_emu_vision_models(exported, tmp_path, name):
    path = exported / f"{name}.onnx"
    run_both(path, onnx.load(path), {"batch": 2}, tmp_path, EMU)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_cuda_emu_text_models(exported, tmp_path, name):
    path = exported / f"{name}.onnx"
    run_both(path, onnx.load(path), {"batch": 3, "seq": 11}, tmp_path, EMU)


def nvrtc_compile(model, archs="sm_80,sm_90", out=None):
    args = [tool("bathyc"), str(model), "--target=cuda", f"--cuda-arch={archs}",
            "--cuda-report", "--max-spill-bytes=0"]
    if out:
        args += ["-o", str(out)]
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=600)


REPORT = re.compile(r"^(sm_\d+) (\S+): (\d+) registers, (\d+) bytes spill stores, "
                    r"(\d+) bytes spill loads", re.M)


def test_nvrtc_compiles_every_suite_kernel(exported, tmp_path):
    models = [ROOT / "models" / "tiny_cnn.onnxtext"] + \
             [exported / f"{n}.onnx" for n in VISION + TEXT_MODELS]
    total = 0
    for model in models:
        out = tmp_path / model.stem / "kernels.cu"
        out.parent.mkdir()
        result = nvrtc_compile(model, out=out)
        assert result.returncode == 0, f"{model.name}: {result.stderr[-3000:]}"
        report = REPORT.findall(result.stdout)
        archs = {r[0] for r in report}
        assert archs == {"sm_80", "sm_90"}, result.stdout[-2000:]
        for arch, kernel, regs, stores, loads in report:
            assert int(stores) == 0 and int(loads) == 0, (model.name, kernel, arch)
            assert 0 < int(regs) <= 255
        total += len(report) // 2
        # The source, the header it includes, a CUBIN per architecture, PTX.
        for f in ["kernels.cu", "bathy_cuda.h", "kernels.sm_80.cubin",
                  "kernels.sm_90.cubin", "kernels.compute_90.ptx"]:
            assert (out.parent / f).stat().st_size > 0, f
        assert (out.parent / "kernels.sm_80.cubin").read_bytes()[:4] == b"\x7fELF"
        assert ".entry" in (out.parent / "kernels.compute_90.ptx").read_text()
    print(f"\nNVRTC: {total} __global__ kernels of {len(models)} suite models, 0 spills")


def test_nvrtc_compiles_every_node_test_kernel():
    """Every in-scope node test's kernels through NVRTC for sm_80 (and PTX)."""
    import_failures = load_expected_failures(HERE / "import_expected_failures.txt")
    cases = [c for c in node_tests() if c[0] not in import_failures]

    def compile_one(case):
        name, directory = case
        model = onnx.load(directory / "model.onnx", load_external_data=False)
        for value in list(model.graph.input) + list(model.graph.output):
            if not value.type.HasField("tensor_type"):
                return name, "out of scope", ""
        result = nvrtc_compile(directory / "model.onnx", archs="sm_80")
        if result.returncode != 0:
            if "cannot import:" in result.stderr or "bathy supports opsets up to" in result.stderr:
                return name, "out of scope", ""
            return name, "fail", result.stderr.strip()[-500:]
        spills = [r for r in REPORT.findall(result.stdout) if int(r[3]) or int(r[4])]
        return name, ("fail" if spills else "pass"), str(spills)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(compile_one, cases))
    in_scope = [r for r in results if r[1] != "out of scope"]
    failed = [r for r in in_scope if r[1] == "fail"]
    print(f"\nNVRTC on node tests: {len(in_scope) - len(failed)} of {len(in_scope)} in scope compile")
    for name, _, detail in failed:
        print(f"NVRTC FAILURE {name}: {detail}")
    assert not failed


def run_tool(*args, env=None):
    return subprocess.run([tool("bathy-run"), *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_cuda_device_says_what_is_missing():
    model = str(ROOT / "models" / "tiny_cnn.onnxtext")
    result = run_tool(model, "--device=cuda")
    assert result.returncode == 1
    # Without a driver (these machines): what was looked for; with one (a GPU
    # machine): what was found, and that the executor is missing.
    assert ("the CUDA driver is not installed (libcuda.so.1" in result.stderr
            or "cannot run kernels on it yet" in result.stderr), result.stderr
    assert "Stack dump" not in result.stderr
    if STUB.exists():
        env = dict(os.environ, BATHY_CUDA_DRIVER=str(STUB))
        result = run_tool(model, "--device=cuda", env=env)
        assert result.returncode == 1
        assert "cuInit failed with CUDA_ERROR_STUB_LIBRARY" in result.stderr, result.stderr
        assert "link stub, not a driver" in result.stderr


def test_device_flag_mistakes(tmp_path):
    model = str(ROOT / "models" / "tiny_cnn.onnxtext")
    result = run_tool(model, "--device=tpu")
    assert result.returncode == 1 and "--device expects cpu, cuda-emu or cuda" in result.stderr
    result = run_tool(model, "--device=cuda-emu", "--specialize-after=2")
    assert result.returncode == 1 and "applies to the cpu device" in result.stderr
    artifact = tmp_path / "m.bathy"
    built = subprocess.run([tool("bathyc"), model, "-o", str(artifact)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    result = run_tool(str(artifact), "--device=cuda-emu")
    assert result.returncode == 1 and "holds CPU code" in result.stderr
    for arch, message in [("sm_1", "not an architecture bathy compiles for"),
                          ("gfx90a", "not an architecture bathy compiles for"),
                          ("", "names no architecture")]:
        result = subprocess.run([tool("bathyc"), model, "--target=cuda", f"--cuda-arch={arch}"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and message in result.stderr, (arch, result.stderr)
    result = subprocess.run([tool("bathyc"), model, "--target=cuda", "-o", str(tmp_path / "x.bathy")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "hold CPU code only" in result.stderr
    result = subprocess.run([tool("bathyc"), model, "--cuda-arch=sm_80", "-o", str(artifact)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "applies to --target=cuda" in result.stderr


def test_cuda_emu_reports_device_checks(tmp_path):
    """A check in device code (a gather index out of range) stops the run
    with the node's message, as on the CPU."""
    import numpy as np
    model = onnx.parser.parse_model("""
        < ir_version: 8, opset_import: ["" : 18] >
        g (float[10, 3] t, int64[n] i) => (float[n, 3] y) { y = Gather <axis = 0> (t, i) }""")
    path = tmp_path / "g.onnx"
    onnx.save(model, path)
    np.save(tmp_path / "t.npy", np.zeros((10, 3), np.float32))
    np.save(tmp_path / "i.npy", np.array([1, 42], np.int64))
    result = run_tool(str(path), "--device=cuda-emu", f"--input=t={tmp_path / 't.npy'}",
                      f"--input=i={tmp_path / 'i.npy'}")
    assert result.returncode == 1
    assert "node 'Gather_0' (Gather): index 42 is out of range" in result.stderr, result.stderr


def test_gpu_check_script_cpu_side(tmp_path):
    """scripts/gpu-check.sh's CPU side compiles its models for CUDA; on a
    machine without a GPU it then exits 3 saying so, with a summary."""
    env = dict(os.environ, BATHY_BUILD_DIR=str(Path(tool("bathyc")).parents[1]))
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--out", str(tmp_path),
                             "--models", "tiny_cnn"], capture_output=True, text=True,
                            timeout=600, env=env, cwd=ROOT)
    assert "tiny_cnn: " in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "tiny_cnn" / "kernels.sm_90.cubin").stat().st_size > 0
    assert "sm_80 " in (tmp_path / "tiny_cnn" / "report.txt").read_text()
    summary = (tmp_path / "summary.md").read_text()
    if result.returncode == 3:
        assert "no CUDA device found" in result.stderr and "no CUDA device found" in summary
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "| tiny_cnn |" in summary and "| yes |" in summary
    bad = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--bogus"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 1 and "unknown argument '--bogus'" in bad.stderr

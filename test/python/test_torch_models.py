"""Imports the model architectures bathy targets, exported from torch.

The models are built and exported by test/models/export_torch.py under
Debian's python3-torch (seeded random weights, nothing downloaded). Each
must import with its dynamic batch (and sequence) dims kept, produce IR that
bathy-opt accepts, and (for the 100 MB ResNet-50) import in time and memory
proportional to the model.
"""
import re
import resource
import subprocess
import time
from pathlib import Path

import pytest

from onnx_node_tests import tool

VISION = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit"]
TEXT = ["bert", "gpt2", "llama"]


def import_model(path, *extra):
    return subprocess.run([tool("bathy-import"), str(path), *extra],
                          capture_output=True, text=True, timeout=300)


def signature(mlir_text):
    match = re.search(r"func\.func @main\((.*?)\) -> \((.*?)\) \{", mlir_text)
    assert match, "no @main in the output"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("name", VISION + TEXT)
def test_imports_with_dynamic_dims(exported, name):
    result = import_model(exported / f"{name}.onnx")
    assert result.returncode == 0, result.stderr
    args, results = signature(result.stdout)
    if name in VISION:
        assert re.search(r"tensor<\?x3x\d+x\d+xf32> \{bathy.dim_params = "
                         r"\[\"batch\", \"\", \"\", \"\"\], bathy.name = \"image\"\}", args), args
        assert re.search(r"tensor<\?x\d+xf32>", results), results
    else:
        assert re.search(r"tensor<\?x\?xi64> \{bathy.dim_params = "
                         r"\[\"batch\", \"seq\"\], bathy.name = \"input_ids\"\}", args), args
        assert "tensor<?x?x" in results, results
    # The output is valid IR that the pass pipeline accepts.
    opt = subprocess.run([tool("bathy-opt"), "--bathy-graph-infer-shapes",
                          "--canonicalize", "-"],
                         input=result.stdout, capture_output=True, text=True,
                         timeout=300)
    assert opt.returncode == 0, opt.stderr


def test_attention_heads_keep_static_dims(exported):
    """Reshape targets computed from Shape keep their static parts."""
    result = import_model(exported / "bert.onnx")
    assert result.returncode == 0, result.stderr
    assert "-> tensor<?x?x4x16xf32>" in result.stdout


def test_large_model_import_is_proportional(exported, tmp_path):
    model = exported / "resnet50.onnx"
    size = model.stat().st_size
    assert size > 90e6, "ResNet-50 should carry ~100 MB of weights"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    text = import_model(model)
    elapsed = time.monotonic() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert text.returncode == 0, text.stderr
    # Text output elides the weight blobs: no 200 MB of hex.
    assert len(text.stdout) < 1_000_000, len(text.stdout)
    assert "dense_resource<" in text.stdout
    # Import holds a few copies of the weights at most, and is quick.
    if peak_kib > before:
        assert peak_kib * 1024 < 4 * size + 300e6, f"peak RSS {peak_kib} KiB"
    assert elapsed < 60, f"import took {elapsed:.1f}s"
    # Bytecode keeps the weights, losslessly and compactly.
    bc = tmp_path / "resnet50.mlirbc"
    result = import_model(model, "--emit-bytecode", "-o", str(bc))
    assert result.returncode == 0, result.stderr
    assert size * 0.95 < bc.stat().st_size < size * 1.1
    back = subprocess.run([tool("bathy-opt"), str(bc), "-o", "/dev/null"],
                          capture_output=True, text=True, timeout=300)
    assert back.returncode == 0, back.stderr

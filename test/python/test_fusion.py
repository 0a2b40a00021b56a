"""Fusion on the torch-exported model suite: fewer kernels, no lost provenance.

`bathy-run --explain-fusion=json` compiles without running and lists every
kernel with the ONNX nodes it covers. With fusion the kernel count must drop
while every node that any kernel covered without fusion is still covered,
and no kernel is without provenance. (Numerics with fusion on are checked by
test_e2e_cpu.py and test_node_conformance.py, which run with the default
pipeline.)
"""
import json
import subprocess

import pytest

from onnx_node_tests import tool

MODELS = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit", "bert", "gpt2", "llama"]
# Models whose every softmax is scaled dot-product attention that
# bathy-fusion-attention recognises: an additive padding mask (bert), a
# causal Where(keep, scores, -1e4) mask (gpt2), an additive causal mask with
# grouped-query heads repeated by repeat_kv (llama), no mask (vit).
ATTENTION = {"vit", "bert", "gpt2", "llama"}


def report(path, *extra):
    result = subprocess.run([tool("bathy-run"), str(path), "--explain-fusion=json", *extra],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", MODELS)
def test_fusion_keeps_provenance(exported, name):
    fused = report(exported / f"{name}.onnx")
    unfused = report(exported / f"{name}.onnx", "--no-fusion")
    softmaxes = sum(k["ops"].count("softmax") for k in unfused["kernels"])
    attention = [k for k in fused["kernels"] if k["kind"] == "attention"]
    if name in ATTENTION:
        assert len(attention) == softmaxes > 0, "an attention was not fused"
        for k in attention:
            assert k["ops"].count("attention") == 1 and "softmax" not in k["ops"]
    else:
        assert not attention
    # Only attention fusion replaces ops (its matmul/softmax chain by one).
    if attention:
        assert fused["num_ops"] < unfused["num_ops"]
    else:
        assert fused["num_ops"] == unfused["num_ops"], "fusion changed the ops compiled"
    assert fused["num_kernels"] < unfused["num_kernels"]
    for k in fused["kernels"]:
        assert k["nodes"], f"kernel {k['name']} has no ONNX node"
        assert k["ops"], f"kernel {k['name']} has no op"
    covered = lambda r: {n for k in r["kernels"] for n in k["nodes"]}
    missing = covered(unfused) - covered(fused)
    assert not missing, f"nodes lost by fusion: {sorted(missing)[:10]}"
    print(f"fusion {name}: kernels {unfused['num_kernels']} -> {fused['num_kernels']} "
          f"(ops {unfused['num_ops']} -> {fused['num_ops']}, attention {len(attention)})")


def wide_model(tmp_path, op, n):
    """`op` over n graph inputs of 4 floats (Sum, or Concat on axis 0)."""
    import onnx
    from onnx import TensorProto, helper
    xs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [4]) for i in range(n)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    attrs = {"axis": 0} if op == "Concat" else {}
    node = helper.make_node(op, [f"x{i}" for i in range(n)], ["y"], name="wide", **attrs)
    model = helper.make_model(helper.make_graph([node], "g", xs, [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{op}_{n}.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("op,n,kernels", [("Sum", 200, 4), ("Concat", 100, 5)])
def test_wide_ops_become_bounded_kernels(tmp_path, op, n, kernels):
    """No kernel reads more than 64 values (a Sum's chain of adds is cut,
    a Concat becomes a tree of 32-input concats): kernels of hundreds of
    operands made LLVM's compile time quadratic."""
    fused = report(wide_model(tmp_path, op, n))
    assert len(fused["kernels"]) == kernels, [k["name"] for k in fused["kernels"]]
    for k in fused["kernels"]:
        assert k["nodes"] == ["wide"]
    result = subprocess.run([tool("bathy-run"), str(wide_model(tmp_path, op, n)), "--print-plan"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        if line.startswith("launch "):
            args = line[line.index("(") + 1:line.index(")")]
            assert len(args.split(",")) <= 64, line


def test_identical_kernels_are_compiled_once(exported):
    """BERT's layers repeat: the plan launches shared kernels more than once,
    and each launch still names its own nodes in errors (Plan::Step::nodes)."""
    result = subprocess.run([tool("bathy-run"), str(exported / "bert.onnx"), "--print-plan"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    launched = [l.split()[1].split("(")[0] for l in result.stdout.splitlines()
                if l.startswith("launch ")]
    assert len(set(launched)) < len(launched), "no kernel is shared"

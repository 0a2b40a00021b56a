#!/usr/bin/python3
"""The benchmark suite's models: what they are, their inputs, and their export.

Specs are plain data (the harness imports them without torch); export and
the torch peer rebuild each model with seeded random weights from the
architectures in test/models/export_torch.py and torchvision, so the ONNX
file and the torch module hold the same weights. Nothing is downloaded.

    /usr/bin/python3 bench/models.py OUT_DIR MODEL...    (export to ONNX)
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# kind: "vision" (input image [B, 3, size, size]) or "text" (input_ids
# [B, S] in [0, vocab), plus attention_mask for encoders).
SPECS = {
    "resnet50": {"kind": "vision", "size": 224},
    "mobilenet_v2": {"kind": "vision", "size": 224},
    "efficientnet_b0": {"kind": "vision", "size": 224},
    "vit_b16": {"kind": "vision", "size": 224},
    "bert_base": {"kind": "text", "vocab": 30522, "mask": True,
                  "config": dict(vocab=30522, d=768, heads=12, ff=3072, layers=12, max_pos=512)},
    "gpt2_small": {"kind": "text", "vocab": 50257, "mask": False,
                   "config": dict(vocab=50257, d=768, heads=12, layers=12, n_ctx=1024)},
    "llama_small": {"kind": "text", "vocab": 32000, "mask": False,
                    "config": dict(vocab=32000, d=1024, heads=16, kv_heads=4, ff=2816, layers=4)},
}


def input_names(name):
    spec = SPECS[name]
    if spec["kind"] == "vision":
        return ["image"]
    return ["input_ids", "attention_mask"] if spec["mask"] else ["input_ids"]


def make_inputs(name, batch, seq, seed=0):
    """Seeded inputs as numpy arrays (shared by every system)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    spec = SPECS[name]
    if spec["kind"] == "vision":
        s = spec["size"]
        return {"image": rng.standard_normal((batch, 3, s, s)).astype(np.float32)}
    feeds = {"input_ids": rng.integers(0, spec["vocab"], (batch, seq)).astype(np.int64)}
    if spec["mask"]:
        feeds["attention_mask"] = np.ones((batch, seq), np.int64)
    return feeds


def build_torch(name):
    """The torch module with the suite's seeded weights (eval mode)."""
    import torch
    import torchvision
    sys.path.insert(0, str(ROOT / "test/models"))
    import export_torch as et
    torch.manual_seed(0)
    spec = SPECS[name]
    if name == "resnet50":
        model = torchvision.models.resnet50()
    elif name == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2()
    elif name == "efficientnet_b0":
        model = torchvision.models.efficientnet_b0()
    elif name == "vit_b16":
        model = torchvision.models.vit_b_16()
    elif name == "bert_base":
        model = et.Bert(**spec["config"])
    elif name == "gpt2_small":
        model = et.Gpt2(**spec["config"])
    elif name == "llama_small":
        model = et.Llama(**spec["config"])
    else:
        raise KeyError(name)
    et.randomize(model)
    return model.eval()


def export(name, out_dir):
    import torch
    model = build_torch(name)
    feeds = make_inputs(name, 1, 16)
    args = tuple(torch.from_numpy(feeds[k]) for k in input_names(name))
    spec = SPECS[name]
    if spec["kind"] == "vision":
        outputs = ["logits"]
        axes = {"image": {0: "batch"}, "logits": {0: "batch"}}
    else:
        outputs = ["hidden", "pooled"] if name == "bert_base" else ["logits"]
        axes = {k: {0: "batch", 1: "seq"} for k in input_names(name)}
        for o in outputs:
            axes[o] = {0: "batch"} if o == "pooled" else {0: "batch", 1: "seq"}
    path = Path(out_dir) / f"{name}.onnx"
    # Large models go over protobuf's 2 GiB limit only past ~500M params;
    # these all fit in one file.
    torch.onnx.export(model, args, str(path), opset_version=17,
                      input_names=input_names(name), output_names=outputs,
                      dynamic_axes=axes, do_constant_folding=True)
    return path


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:]:
        if name not in SPECS:
            print(f"unknown model '{name}'; known: {', '.join(SPECS)}", file=sys.stderr)
            return 2
        print(export(name, out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

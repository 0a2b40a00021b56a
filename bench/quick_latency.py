#!/usr/bin/env python3
"""Latency of bathy-run against onnxruntime on a ResNet-style and a BERT-style
model at batch 1, in the same run. A stop-gap until the benchmark harness
(bench/run) exists; prints one line per model with the ratio bathy/ort.

    .venv/bin/python bench/quick_latency.py [--runs N] [--threads T]
"""
import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for both systems (onnxruntime intra-op, bathy --threads)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp())
    subprocess.run(["/usr/bin/python3", str(ROOT / "test/models/export_torch.py"), str(out),
                    "resnet50", "bert"], check=True, capture_output=True)
    cases = [
        ("resnet50", {"image": np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)}),
        ("bert", {"input_ids": np.ones((1, 16), np.int64), "attention_mask": np.ones((1, 16), np.int64)}),
    ]
    for name, feeds in cases:
        path = out / f"{name}.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for _ in range(3):
            session.run(None, feeds)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - start) * 1e3)
        ort_ms = float(np.median(times))
        inputs = []
        for key, value in feeds.items():
            np.save(out / f"{key}.npy", value)
            inputs.append(f"--input={key}={out / (key + '.npy')}")
        result = subprocess.run([str(ROOT / "build/bin/bathy-run"), str(path),
                                 f"--benchmark={args.runs}", f"--threads={args.threads}", *inputs],
                                capture_output=True, text=True, check=True)
        m = re.search(r"compile: ([\d.]+) s, run: median ([\d.]+) ms", result.stdout)
        bathy_ms = float(m.group(2))
        print(f"{name}: onnxruntime {ort_ms:.3f} ms ({args.threads} threads), "
              f"bathy {bathy_ms:.3f} ms (compile {m.group(1)} s), "
              f"bathy/onnxruntime = {bathy_ms / ort_ms:.1f}")


if __name__ == "__main__":
    main()

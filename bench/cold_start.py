#!/usr/bin/env python3
"""Cold start and artifact size: bathyc's artifact against the JIT and
onnxruntime, side by side in one run.

For each ONNX model given: bathyc's compile time, the artifact's size
against the ONNX file, and three cold starts, each a fresh process that
loads the model and runs it once on the same input (the median of --repeat
runs, with its peak RSS):

  artifact     the runtime-only bathy-run on the .bathy file (load, verify,
               first inference)
  jit          bathy-run on the .onnx file (import, compile, first inference;
               --no-cache: bench/shape_trace.py measures the warm cache)
  onnxruntime  python: InferenceSession creation + first run

  bench/cold_start.py model.onnx ... [--dims batch=1,seq=128] [--repeat 5]

Prints a Markdown table with the CPU it ran on; figures from different CPUs
are not comparable.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("BATHY_BUILD_DIR", ROOT / "build"))
RUNTIME_ONLY = ROOT / "build-runtime" / "bin" / "bathy-run"
PY = ROOT / ".venv" / "bin" / "python"

ORT_SCRIPT = r"""
import sys, numpy as np, onnx, onnxruntime as ort
path, dims = sys.argv[1], dict(kv.split("=") for kv in sys.argv[2].split(",") if kv)
m = onnx.load(path, load_external_data=False)
init = {i.name for i in m.graph.initializer}
feeds = {}
for i in m.graph.input:
    if i.name in init:
        continue
    t = i.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else int(dims.get(d.dim_param, 1)) for d in t.shape.dim]
    dtype = np.float32 if t.elem_type == onnx.TensorProto.FLOAT else np.int64
    feeds[i.name] = np.ones(shape, dtype)
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
s.run(None, feeds)
"""


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def measure(cmd, repeat):
    times, rss = [], []
    for _ in range(repeat):
        wrapper = [sys.executable, "-c",
                   "import resource, subprocess, sys, time;"
                   "t = time.perf_counter();"
                   "r = subprocess.run(sys.argv[1:], capture_output=True);"
                   "t = time.perf_counter() - t;"
                   "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
                   "print(r.returncode, t, m / 1024);"
                   "sys.stderr.write(r.stderr.decode()[-2000:])"] + [str(c) for c in cmd]
        r = subprocess.run(wrapper, capture_output=True, text=True)
        code, t, m = r.stdout.split()
        if code != "0":
            sys.exit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr}")
        times.append(float(t))
        rss.append(float(m))
    return statistics.median(times), statistics.median(rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--dims", default="", help="NAME=N,... for dynamic dims (default 1)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    runner = RUNTIME_ONLY if RUNTIME_ONLY.is_file() else BUILD / "bin" / "bathy-run-runtime"
    threads = [f"--threads={args.threads}"]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; runtime-only runner: {runner}\n")
    print("| model | ONNX MiB | artifact MiB | code KiB | bathyc s | artifact cold start s (RSS MiB) "
          "| JIT cold start s (RSS MiB) | onnxruntime cold start s (RSS MiB) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            art = Path(tmp) / (model.stem + ".bathy")
            start = time.perf_counter()
            r = subprocess.run([BUILD / "bin" / "bathyc", model, "-o", art, "--quiet"],
                               capture_output=True, text=True)
            compile_s = time.perf_counter() - start
            if r.returncode != 0:
                sys.exit(r.stderr[-2000:])
            meta = subprocess.run([BUILD / "bin" / "bathy-meta", art, "--json"],
                                  capture_output=True, text=True)
            meta = json.loads(meta.stdout)
            code = next(s["bytes"] for s in meta["sections"] if s["name"] == "code")
            # Only the --dims this model has.
            params = {p for i in meta["inputs"] for p in i["dim_params"] if p}
            dims = [kv for kv in args.dims.split(",") if kv and kv.split("=")[0] in params]
            dim_flags = [f"--dim={kv}" for kv in dims]
            a = measure([runner, art, *dim_flags, *threads], args.repeat)
            j = measure([BUILD / "bin" / "bathy-run", model, "--quiet", "--no-cache",
                         *dim_flags, *threads], args.repeat)
            o = measure([PY, "-c", ORT_SCRIPT, model, ",".join(dims)], args.repeat)
            mib = 1 << 20
            print(f"| {model.stem} | {model.stat().st_size / mib:.1f} | {art.stat().st_size / mib:.1f} "
                  f"| {code / 1024:.0f} | {compile_s:.2f} | {a[0]:.3f} ({a[1]:.0f}) "
                  f"| {j[0]:.3f} ({j[1]:.0f}) | {o[0]:.3f} ({o[1]:.0f}) |")


if __name__ == "__main__":
    main()

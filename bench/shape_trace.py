#!/usr/bin/env python3
"""Shapes that change: one trace of requests, four ways of serving it, side
by side in one run (issue #18).

The trace: --requests requests of batch 1 whose sequence length is drawn
from a skewed distribution over 1..--max-seq (a few hot lengths take 60% of
the requests, the rest is a uniform tail), seeded. Each way is a fresh
process replaying the same trace:

  generic      bathy-run model.onnx: the generic plan only
  buckets      bathyc --buckets=seq:pow2:16..MAX --pad=seq[:mask=M], then
               the runtime-only bathy-run on the artifact (padded buckets)
  specialize   bathy-run model.onnx --specialize-after=N: hot lengths get a
               plan compiled in the background
  onnxruntime  python: one InferenceSession, the same shapes

then the cold start of a second bathy-run process on a warm compile cache.

  bench/shape_trace.py model.onnx [--mask attention_mask] [--requests 500]
      [--max-seq 512] [--specialize-after 3] [--threads 2]

Prints a Markdown table with the CPU it ran on; figures from different CPUs
are not comparable.
"""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_start import BUILD, PY, RUNTIME_ONLY, cpu_name  # noqa: E402

ORT_SCRIPT = r"""
import resource, sys, time, numpy as np, onnx, onnxruntime as ort
path, trace, mask, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
m = onnx.load(path, load_external_data=False)
init = {i.name for i in m.graph.initializer}
inputs = [i for i in m.graph.input if i.name not in init]
o = ort.SessionOptions()
o.intra_op_num_threads = threads
s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
times, start = [], None
for line in open(trace):
    dims = dict(kv.split("=") for kv in line.split())
    feeds = {}
    for i in inputs:
        shape = [d.dim_value if d.HasField("dim_value") else int(dims.get(d.dim_param, 1))
                 for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = (np.ones(shape, np.int64) if i.name == mask
                         else rng.integers(0, 10, shape, dtype=np.int64))
    t0 = time.perf_counter()
    s.run(None, feeds)
    times.append((time.perf_counter() - t0) * 1e3)
    if start is None:  # after the first request, as bathy-run reports it
        start = rss()
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * (len(times) - 1) + 0.5))]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"ort {q(0.5):.3f} {q(0.99):.3f} {start:.1f} {rss():.1f} {peak:.1f}")
"""


def make_trace(path, requests, max_seq, seed):
    rng = random.Random(seed)
    hot = [(128, 25), (64, 15), (32, 10), (256, 5), (100, 5)]
    hot = [(s, w) for s, w in hot if s <= max_seq]
    lines = []
    for _ in range(requests):
        if rng.random() < 0.6:
            seq = rng.choices([s for s, _ in hot], [w for _, w in hot])[0]
        else:
            seq = rng.randint(1, max_seq)
        lines.append(f"batch=1 seq={seq}")
    Path(path).write_text("\n".join(lines) + "\n")
    return lines


def run(cmd, env=None):
    e = dict(os.environ, **(env or {}))
    t0 = time.perf_counter()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=e)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r.stdout, wall


def parse(stdout):
    m = re.search(r"^trace: (\d+) requests, (\d+) shapes, (\d+) compiles \((\d+) foreground, "
                  r"(\d+) background\), (\d+) cache hits, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms",
                  stdout, re.M)
    mem = re.search(r"^memory: RSS ([0-9.]+) MiB after the first request, ([0-9.]+) MiB after "
                    r"the last, peak ([0-9.]+) MiB", stdout, re.M)
    spent = re.search(r"([0-9.]+) s spent making them", stdout)
    startup = re.search(r"^startup: ([0-9.]+) s", stdout, re.M)
    kinds = re.findall(r"^plan ([a-z ]+):\s+(\d+) requests, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms",
                       stdout, re.M)
    return {"shapes": int(m[2]), "fg": int(m[4]), "bg": int(m[5]), "hits": int(m[6]),
            "p50": float(m[7]), "p99": float(m[8]), "rss0": float(mem[1]),
            "rss1": float(mem[2]), "peak": float(mem[3]),
            "bg_seconds": float(spent[1]), "startup": float(startup[1]),
            "kinds": ", ".join(f"{k} {n} (p50 {a})" for k, n, a, _ in kinds)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--mask", default="", help="the attention-mask input, if any")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--max-seq", type=int, default=512)
    ap.add_argument("--specialize-after", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    bathy_run, bathyc = BUILD / "bin" / "bathy-run", BUILD / "bin" / "bathyc"
    runtime_run = RUNTIME_ONLY if RUNTIME_ONLY.exists() else BUILD / "bin" / "bathy-run-runtime"
    tmp = Path(tempfile.mkdtemp(prefix="bathy-shape-trace-"))
    trace = tmp / "trace.txt"
    lines = make_trace(trace, a.requests, a.max_seq, a.seed)
    threads = f"--threads={a.threads}"
    pad = "seq" + (f":mask={a.mask}" if a.mask else "")
    rows = []

    out, _ = run([bathy_run, a.model, f"--shape-trace={trace}", "--no-cache", threads])
    rows.append(("generic", parse(out), None))

    lo = 16 if a.max_seq >= 16 else 1
    art = tmp / "model.bathy"
    _, compile_s = run([bathyc, a.model, "-o", art, f"--buckets=seq:pow2:{lo}..{a.max_seq}",
                        f"--pad={pad}", "--quiet"])
    out, _ = run([runtime_run, art, f"--shape-trace={trace}", threads])
    rows.append(("buckets (pow2, padded)", parse(out), compile_s))

    out, _ = run([bathy_run, a.model, f"--shape-trace={trace}", "--no-cache", threads,
                  f"--specialize-after={a.specialize_after}", f"--pad={pad}"])
    rows.append((f"specialize after {a.specialize_after}", parse(out), None))

    ort_out, _ = run([PY, "-c", ORT_SCRIPT, a.model, trace, a.mask, a.threads])
    p50, p99, rss0, rss1, peak = map(float, ort_out.split()[1:])

    # Cold start of a second process on a warm cache (one request).
    cache = {"BATHY_CACHE_DIR": str(tmp / "cache")}
    one = tmp / "one.txt"
    one.write_text("batch=1 seq=128\n")
    _, cold = run([bathy_run, a.model, f"--shape-trace={one}", threads], env=cache)
    warm_out, warm = run([bathy_run, a.model, f"--shape-trace={one}", threads], env=cache)
    assert parse(warm_out)["hits"] == 1, warm_out

    print(f"\nCPU: {cpu_name()}, {a.threads} threads; {a.model.name}; {a.requests} requests, "
          f"{len(set(lines))} distinct lengths in 1..{a.max_seq}, batch 1; seed {a.seed}\n")
    print("| way | p50 ms | p99 ms | compiles: start-up / background (request path) | "
          "compile s (background) | RSS MiB after first → after last request (peak) | plans |")
    print("|---|---|---|---|---|---|---|")
    for name, r, compile_s in rows:
        comp = f"{r['fg']} / {r['bg']} (0)"
        seconds = f"{compile_s:.1f} (bathyc, ahead)" if compile_s else f"{r['bg_seconds']:.1f}"
        print(f"| {name} | {r['p50']:.2f} | {r['p99']:.2f} | {comp} | {seconds} | "
              f"{r['rss0']:.0f} → {r['rss1']:.0f} ({r['peak']:.0f}) | {r['kinds']} |")
    print(f"| onnxruntime | {p50:.2f} | {p99:.2f} | - | - | {rss0:.0f} → {rss1:.0f} ({peak:.0f}) | - |")
    print(f"\nCold start, one request, fresh process: compile cache empty {cold:.2f} s, "
          f"warm {warm:.2f} s (0 compiles, 1 cache hit).")


if __name__ == "__main__":
    main()

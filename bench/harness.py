#!/usr/bin/env python3
"""bathy against its peers on the same models, machine and run.

Every system runs in its own process (runner.py, or bathy-run --bench-stdin)
that compiles once; then the harness asks each in turn for a few timed runs,
round after round, so slow drifts of the machine hit every system alike.
Reported: median and p90 latency, compile time, peak resident memory (VmHWM
of each process), and whether the outputs match onnxruntime's.

Usually started through bench/run, which sets up what it needs.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import models  # noqa: E402

PEERS = ["onnxruntime", "openvino", "iree", "tvm", "torch", "torch_compile"]
BATHY_RUN = ROOT / "build/bin/bathy-run"
# PyPI torch >= 2 with transformers (bench/requirements-torch.txt): exports
# the suite and runs the torch and torch_compile peers.
TORCH_PYTHON = ROOT / "bench/.venv-torch/bin/python"


class System:
    """A started system process speaking the ready/run/times protocol."""

    def __init__(self, name, cmd, out_dir, log_path, env=None):
        self.name, self.out_dir = name, out_dir
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env, bufsize=1)
        self.times, self.error, self.compile_s, self.peak_mb = [], None, None, None
        self._pending = b""

    def wait_ready(self, timeout):
        line = self._readline(timeout)
        while line is not None and not line.startswith("ready "):
            line = self._readline(timeout)  # what the system prints first
        if line is None:
            self.fail(f"did not start: {self._stderr_tail()}")
            return False
        self.compile_s = float(line.split()[1])
        return True

    def run(self, n, timeout):
        if self.error:
            return
        try:
            self.proc.stdin.write(f"run {n}\n")
            self.proc.stdin.flush()
        except OSError:
            self.fail(f"exited: {self._stderr_tail()}")
            return
        line = self._readline(timeout)
        if line is None or not line.startswith("times"):
            self.fail(f"failed while running: {self._stderr_tail()}")
            return
        self.times += [float(t) for t in line.split()[1:]]

    def finish(self):
        if self.proc.poll() is None:
            try:
                status = Path(f"/proc/{self.proc.pid}/status").read_text()
                m = re.search(r"VmHWM:\s+(\d+) kB", status)
                if m:
                    self.peak_mb = int(m.group(1)) / 1024
            except OSError:
                pass
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()

    def fail(self, reason):
        self.error = reason
        if self.proc.poll() is None:
            self.proc.kill()

    def _readline(self, timeout):
        """The next stdout line, reading the pipe unbuffered (a buffered
        reader would hide lines it already pulled from select())."""
        import select
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._pending:
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout:.0f} s")
                return None
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._pending += chunk
            elif self.proc.poll() is not None:
                return None
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def _stderr_tail(self):
        self.log.flush()
        try:
            text = Path(self.log.name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        useful = [l for l in text if l.strip()][-3:]
        return " | ".join(useful)[-400:] or f"exit code {self.proc.poll()}"


def start_system(name, model_name, model_path, feeds_dir, input_names, case_dir, threads):
    out_dir = case_dir / f"out-{name}"
    out_dir.mkdir(parents=True, exist_ok=True)
    log = case_dir / f"{name}.log"
    if name == "bathy":
        # Each case compiles anew for its own shapes, as TVM, IREE and
        # torch.compile(dynamic=False) do here; --static-shapes lets bathy
        # fold the exported shape arithmetic instead of carrying it at run time.
        # --no-cache: the compile time reported is a compile's, not a load
        # from the compile cache.
        cmd = [str(BATHY_RUN), str(model_path), f"--threads={threads}", "--bench-stdin",
               "--static-shapes", "--no-cache", f"--output-dir={out_dir}"]
        cmd += [f"--input={n}={feeds_dir / (n + '.npy')}" for n in input_names]
        return System(name, cmd, out_dir, log)
    python = str(TORCH_PYTHON) if name.startswith("torch") else sys.executable
    cmd = [python, str(ROOT / "bench/runner.py"), "--system", name, "--model", str(model_path),
           "--inputs", str(feeds_dir), "--input-names", ",".join(input_names),
           "--outputs", str(out_dir), "--threads", str(threads), "--torch-model", model_name]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return System(name, cmd, out_dir, log, env=env)


def read_outputs(system, output_names):
    if system.name == "bathy":
        files = [system.out_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", n) + ".npy")
                 for n in output_names]
    else:
        files = [system.out_dir / f"{i}.npy" for i in range(len(output_names))]
    return [np.load(f) if f.exists() else None for f in files]


def compare(reference, outputs, rtol, atol):
    """'ok', or what differs from onnxruntime."""
    for i, (ref, out) in enumerate(zip(reference, outputs)):
        if out is None:
            return f"output {i} missing"
        if ref.shape != out.shape:
            return f"output {i} shape {list(out.shape)} != {list(ref.shape)}"
        if ref.dtype.kind == "f":
            err = np.max(np.abs(out.astype(np.float64) - ref) / (atol + rtol * np.abs(ref)))
            if not np.isfinite(err) or err > 1.0:
                worst = float(np.max(np.abs(out.astype(np.float64) - ref)))
                return f"output {i} max abs diff {worst:.3g}"
        elif not np.array_equal(ref, out):
            return f"output {i} differs"
    return "ok"


def run_case(model_name, model_path, batch, seq, systems, args, work):
    case = f"{model_name}-b{batch}" + (f"-s{seq}" if seq else "")
    case_dir = work / case
    feeds_dir = case_dir / "inputs"
    feeds_dir.mkdir(parents=True, exist_ok=True)
    feeds = models.make_inputs(model_name, batch, seq or 16) if model_name in models.SPECS \
        else quick_inputs(model_path, batch)
    for k, v in feeds.items():
        np.save(feeds_dir / f"{k}.npy", v)
    import onnx
    proto = onnx.load(str(model_path), load_external_data=False)
    output_names = [o.name for o in proto.graph.output]
    print(f"== {case}", flush=True)
    started = []
    for name in systems:
        s = start_system(name, model_name, model_path, feeds_dir, list(feeds), case_dir,
                         args.threads)
        # Compile one at a time: compilers compete for the same cores.
        s.wait_ready(args.compile_timeout)
        print(f"   {name}: " + (f"ready (compile {s.compile_s:.2f} s)" if not s.error
                                 else f"cannot run: {s.error}"), flush=True)
        started.append(s)
    # Each system's run count fits the case's time budget (at least
    # --min-runs, at most --runs), so an untuned peer that takes 30 s a run
    # does not hold the suite for an hour; rounds still alternate systems.
    todo = {}
    for s in started:
        t = warm_up(s, args)
        todo[s] = 0 if t is None else \
            max(args.min_runs, min(args.runs, int(args.case_seconds * 1e3 / t)))
    while any(todo.values()):
        for s in started:
            k = min(args.per_round, todo[s])
            if k:
                s.run(k, args.run_timeout)
                todo[s] = 0 if s.error else todo[s] - k
    for s in started:
        s.finish()
    ref_sys = next((s for s in started if s.name == "onnxruntime" and not s.error), None)
    reference = read_outputs(ref_sys, output_names) if ref_sys else None
    rows = []
    for s in started:
        row = {"case": case, "model": model_name, "batch": batch, "seq": seq, "system": s.name,
               "error": s.error, "compile_s": s.compile_s, "peak_mb": s.peak_mb}
        if not s.error and s.times:
            row["median_ms"] = float(np.median(s.times))
            row["p90_ms"] = float(np.percentile(s.times, 90))
            row["runs"] = len(s.times)
            if reference and s is not ref_sys:
                row["check"] = compare(reference, read_outputs(s, output_names),
                                       args.rtol, args.atol)
            elif s is ref_sys:
                row["check"] = "reference"
        rows.append(row)
    return rows


def warm_up(s, args):
    """Warm-up runs (up to --warmup, within a fifth of the case budget);
    returns their median in ms, or None if the system failed."""
    s.run(1, args.run_timeout)
    for _ in range(args.warmup - 1):
        if s.error or sum(s.times) > 0.2 * args.case_seconds * 1e3:
            break
        s.run(1, args.run_timeout)
    t = float(np.median(s.times)) if s.times and not s.error else None
    s.times = []
    return t


def quick_inputs(model_path, batch):
    import onnx
    proto = onnx.load(str(model_path))
    init = {i.name for i in proto.graph.initializer}
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in proto.graph.input:
        if inp.name in init:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else batch
                for d in inp.type.tensor_type.shape.dim]
        feeds[inp.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def fmt(v, spec):
    return format(v, spec) if v is not None else "–"


def write_report(rows, systems, args, out):
    lines = [f"# bathy benchmark — {datetime.datetime.now().isoformat(timespec='seconds')}", "",
             f"Machine: {os.cpu_count()} CPUs ({cpu_name()}); threads per system: {args.threads}; "
             f"warm-up up to {args.warmup}, then {args.min_runs}–{args.runs} timed runs per "
             f"system (as many as fit {args.case_seconds:.0f} s), alternating in rounds of "
             f"{args.per_round}. Latency in ms (median / p90); "
             f"compile in s; peak RSS in MiB; bathy compiled with --static-shapes for each "
             f"case; check: outputs against onnxruntime "
             f"(rtol {args.rtol}, atol {args.atol}).", ""]
    peers = [s for s in systems if s != "bathy"]
    header = "| case | " + " | ".join(systems) + " | " + \
        " | ".join(f"bathy/{p}" for p in peers) + " |"
    lines += [header, "|" + "---|" * (1 + len(systems) + len(peers))]
    by_case = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["system"]] = r
    for case, rs in by_case.items():
        cells = []
        for s in systems:
            r = rs.get(s)
            if not r:
                cells.append("not run")
            elif r["error"]:
                cells.append("cannot run")
            else:
                cells.append(f"{r['median_ms']:.2f} / {r['p90_ms']:.2f}")
        b = rs.get("bathy")
        for p in peers:
            r = rs.get(p)
            if b and r and not b["error"] and not r["error"] and r.get("median_ms"):
                cells.append(f"{b['median_ms'] / r['median_ms']:.2f}")
            else:
                cells.append("–")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    lines += ["", "| case | system | runs | compile s | peak MiB | check | note |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        note = (r["error"] or "").replace("|", "/")
        lines.append(f"| {r['case']} | {r['system']} | {r.get('runs', '–')} | "
                     f"{fmt(r['compile_s'], '.2f')} | "
                     f"{fmt(r['peak_mb'], '.0f')} | {r.get('check', '–')} | {note} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    chart(rows, systems, out / "chart.png")


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def chart(rows, systems, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cases) * len(systems) / 3), 4.5))
    width = 0.8 / len(systems)
    for i, s in enumerate(systems):
        vals = []
        for c in cases:
            r = next((r for r in rows if r["case"] == c and r["system"] == s), None)
            vals.append(r["median_ms"] if r and r.get("median_ms") else 0)
        ax.bar([x + i * width for x in range(len(cases))], vals, width, label=s)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(cases))])
    ax.set_xticklabels(cases, rotation=30, ha="right")
    ax.set_ylabel("median latency (ms, log)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: the bundled model against onnxruntime, few runs")
    parser.add_argument("--models", default=",".join(models.SPECS))
    parser.add_argument("--systems", default="bathy," + ",".join(PEERS))
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--seqs", default="128,512", help="sequence lengths of text models")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20,
                        help="timed runs per system and case, at most")
    parser.add_argument("--min-runs", type=int, default=5,
                        help="timed runs per system and case, at least")
    parser.add_argument("--case-seconds", type=float, default=40,
                        help="time budget of one system's timed runs in a case")
    parser.add_argument("--per-round", type=int, default=5)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-3)
    parser.add_argument("--compile-timeout", type=float, default=1800)
    parser.add_argument("--run-timeout", type=float, default=1800)
    parser.add_argument("--model-dir", default=str(ROOT / "bench/.models"))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "bench/results" / stamp)
    out.mkdir(parents=True, exist_ok=True)
    if not BATHY_RUN.exists():
        print(f"error: {BATHY_RUN} not built (run scripts/build.sh)", file=sys.stderr)
        return 1

    if args.quick:
        import onnx
        from onnx import parser as onnx_parser
        model = onnx_parser.parse_model((ROOT / "models/tiny_cnn.onnxtext").read_text())
        path = out / "tiny_cnn.onnx"
        onnx.save(model, str(path))
        args.warmup, args.runs, args.min_runs, args.per_round = 2, 10, 10, 5
        systems = ["bathy", "onnxruntime"]
        rows = run_case("tiny_cnn", path, 1, 0, systems, args, out)
        write_report(rows, systems, args, out)
        b = next(r for r in rows if r["system"] == "bathy")
        o = next(r for r in rows if r["system"] == "onnxruntime")
        if b["error"] or o["error"] or b.get("check") != "ok":
            print(f"error: quick benchmark failed: bathy: {b['error'] or b.get('check')}; "
                  f"onnxruntime: {o['error']}", file=sys.stderr)
            return 1
        print(f"report: {out / 'results.md'}")
        print(f"bench: tiny_cnn bathy/onnxruntime = {b['median_ms'] / o['median_ms']:.2f}")
        return 0

    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems if s != "bathy" and s not in PEERS]
    names = [m for m in args.models.split(",") if m]
    unknown += [m for m in names if m not in models.SPECS]
    if unknown:
        print(f"error: unknown system or model: {', '.join(unknown)}", file=sys.stderr)
        return 2
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    missing = [m for m in names if not (model_dir / f"{m}.onnx").exists()]
    if missing:
        print(f"exporting {', '.join(missing)} (torch, seeded random weights)...", flush=True)
        subprocess.run([TORCH_PYTHON, str(ROOT / "bench/models.py"), str(model_dir), *missing],
                       check=True)
    rows = []
    for m in names:
        seqs = [int(s) for s in args.seqs.split(",")] if models.SPECS[m]["kind"] == "text" else [0]
        for batch in [int(b) for b in args.batches.split(",")]:
            for seq in seqs:
                rows += run_case(m, model_dir / f"{m}.onnx", batch, seq, systems, args, out)
                write_report(rows, systems, args, out)
    print(f"report: {out / 'results.md'} (chart: {out / 'chart.png'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

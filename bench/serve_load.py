#!/usr/bin/env python3
"""bathy-serve under load, beside a peer, with the same clients (issue #19).

For each model, three servers in turn, each driven by tritonclient HTTP
threads (one client per thread, binary tensors) at each concurrency for
--duration seconds, every response's shape checked:

  bathy        bathy-serve, the dynamic batcher on (max_batch_size 8,
               max_queue_delay 2 ms)
  bathy-nobatch  bathy-serve, max_batch_size 1
  ort-kserve   onnxruntime (intra-op threads = --threads) behind the kserve
               SDK's Python model server, v2 protocol

and the offline throughput of the same artifact at max batch (runtime-only
bathy-run --benchmark), to which throughput at saturation is compared.

  bench/serve_load.py [--models bert_base,resnet50_224] [--concurrency 1,4,16,32]
      [--duration 15] [--threads 2] [--ways bathy,bathy-nobatch,ort-kserve]

Models come from test/models/export_torch.py (seeded weights), exported on
first use into --work. bert_base requests have batch 1 and a sequence length
drawn uniformly from 16..128 (seeded); its artifact has seq buckets
16,32,64,128 and pads seq with the attention mask. Prints a Markdown table
with the CPU it ran on; figures from different CPUs are not comparable.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_start import BUILD, PY, ROOT, cpu_name  # noqa: E402

RUNTIME_RUN = ROOT / "build-runtime" / "bin" / "bathy-run"

KSERVE_SERVER = r"""
import sys, numpy as np, onnxruntime as ort, kserve
from kserve import InferResponse, InferOutput
model_path, name, port, grpc_port, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
class OrtModel(kserve.Model):
    def __init__(self):
        super().__init__(name)
        o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(model_path, o, providers=["CPUExecutionProvider"])
        self.outputs = [x.name for x in self.sess.get_outputs()]
        self.ready = True
    def predict(self, payload, headers=None, response_headers=None):
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        outs = self.sess.run(None, feeds)
        result = []
        for n, a in zip(self.outputs, outs):
            o = InferOutput(n, list(a.shape), "FP32")
            o.set_data_from_numpy(a, binary_data=True)
            result.append(o)
        return InferResponse(model_name=name, infer_outputs=result, response_id=payload.id or "0")
kserve.ModelServer(http_port=port, grpc_port=grpc_port, enable_docs_url=False,
                   enable_latency_logging=False).start([OrtModel()])
"""

SPECS = {
    "bert_base": {"buckets": ["--buckets=seq:16,32,64,128", "--pad=seq:mask=attention_mask"],
                  "offline_dims": ["--dim=batch=8", "--dim=seq=72"]},
    "resnet50_224": {"buckets": [], "offline_dims": ["--dim=batch=8"]},
}


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export(name, work):
    path = work / f"{name}.onnx"
    if not path.exists():
        r = subprocess.run(["/usr/bin/python3", str(ROOT / "test/models/export_torch.py"),
                            str(work), name], capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"export {name} failed:\n{r.stderr[-2000:]}")
    return path


def request_maker(name, rs):
    import tritonclient.http as th
    if name == "bert_base":
        def make():
            seq = int(rs.randint(16, 129))
            ids = rs.randint(0, 30000, (1, seq)).astype(np.int64)
            ins = []
            for n, a in (("input_ids", ids), ("attention_mask", np.ones_like(ids))):
                i = th.InferInput(n, list(a.shape), "INT64")
                i.set_data_from_numpy(a, binary_data=True)
                ins.append(i)
            return ins, [th.InferRequestedOutput("pooled", binary_data=True)], ("pooled", (1, 768))
        return make
    x = rs.rand(1, 3, 224, 224).astype(np.float32)

    def make():
        i = th.InferInput("image", list(x.shape), "FP32")
        i.set_data_from_numpy(x, binary_data=True)
        return [i], [th.InferRequestedOutput("logits", binary_data=True)], ("logits", (1, 1000))
    return make


def drive(url, model, name, conc, duration):
    import tritonclient.http as th
    lat, errors, bad = [], [], 0
    lock = threading.Lock()
    stop = time.time() + duration

    def worker(k):
        nonlocal bad
        c = th.InferenceServerClient(url, network_timeout=600, connection_timeout=600)
        make = request_maker(name, np.random.RandomState(k))
        sent = 0
        while time.time() < stop:
            sent += 1
            ins, outs, (out, shape) = make()
            t0 = time.perf_counter()
            try:
                # An id: the kserve server refuses a binary response without one.
                r = c.infer(model, ins, outputs=outs, request_id=f"{k}-{sent}")
                a = r.as_numpy(out)
                ok = a is not None and a.shape == shape and np.isfinite(a).all()
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e)[:200])
                continue
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                bad += 0 if ok else 1
    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3 if lat else float("nan")
    return {"throughput": len(lat) / wall, "p50": q(0.5), "p99": q(0.99), "n": len(lat),
            "errors": len(errors), "bad": bad, "first_error": errors[0] if errors else ""}


def wait_ready(url, model, proc, timeout=300):
    import tritonclient.http as th
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            if th.InferenceServerClient(url).is_model_ready(model):
                return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.5)
    sys.exit("server not ready")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="bert_base,resnet50_224")
    ap.add_argument("--concurrency", default="1,4,16,32")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ways", default="bathy,bathy-nobatch,ort-kserve")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "bathy-serve-bench"))
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    concs = [int(c) for c in a.concurrency.split(",")]
    rows = []
    for name in a.models.split(","):
        onnx_path = export(name, work)
        art = work / f"{name}.bathy"
        if not art.exists():
            r = subprocess.run([str(BUILD / "bin" / "bathyc"), str(onnx_path), "-o", str(art),
                                "--quiet", *SPECS[name]["buckets"]], capture_output=True, text=True)
            if r.returncode:
                sys.exit(r.stderr[-2000:])
        r = subprocess.run([str(RUNTIME_RUN), str(art), "--benchmark=10", f"--threads={a.threads}",
                            *SPECS[name]["offline_dims"]], capture_output=True, text=True)
        m = re.search(r"run: median ([0-9.]+) ms", r.stdout + r.stderr)
        offline = 8 / (float(m.group(1)) / 1e3) if m else float("nan")
        for way in a.ways.split(","):
            port, gport = free_port(), free_port()
            if way.startswith("bathy"):
                repo = work / f"repo-{way}"
                (repo / name / "1").mkdir(parents=True, exist_ok=True)
                dst = repo / name / "1" / "model.bathy"
                if dst.exists():
                    dst.unlink()
                os.link(art, dst) if art.stat().st_dev == dst.parent.stat().st_dev else \
                    __import__("shutil").copy(art, dst)
                cfg = {"max_batch_size": 8, "max_queue_delay_us": 2000} if way == "bathy" \
                    else {"max_batch_size": 1}
                (repo / name / "config.json").write_text(json.dumps(cfg))
                proc = subprocess.Popen([str(BUILD / "bin" / "bathy-serve"),
                                         f"--model-repository={repo}", f"--http-port={port}",
                                         f"--grpc-port={gport}", f"--threads={a.threads}",
                                         "--http-threads=64"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                proc = subprocess.Popen([str(PY), "-c", KSERVE_SERVER, str(onnx_path), name,
                                         str(port), str(gport), str(a.threads)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"127.0.0.1:{port}"
            try:
                wait_ready(url, name, proc)
                drive(url, name, name, 1, 2)  # warm up
                for conc in concs:
                    res = drive(url, name, name, conc, a.duration)
                    rows.append((name, way, conc, res, offline))
                    print(f"{name} {way} c={conc}: {res['throughput']:.2f} req/s, p50 "
                          f"{res['p50']:.1f} ms, p99 {res['p99']:.1f} ms, n={res['n']}, "
                          f"errors {res['errors']}, bad {res['bad']} {res['first_error']}",
                          file=sys.stderr, flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(f"\nCPU: {cpu_name()}, {a.threads} compute threads, {a.duration:.0f} s per point\n")
    print("| model | server | concurrency | req/s | p50 ms | p99 ms | errors | vs offline max-batch |")
    print("|---|---|---|---|---|---|---|---|")
    for name, way, conc, r, offline in rows:
        print(f"| {name} | {way} | {conc} | {r['throughput']:.2f} | {r['p50']:.1f} | "
              f"{r['p99']:.1f} | {r['errors'] + r['bad']} | "
              f"{r['throughput'] / offline * 100:.0f}% of {offline:.2f} |")


if __name__ == "__main__":
    main()

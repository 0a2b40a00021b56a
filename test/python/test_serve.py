"""bathy-serve: the KServe v2 protocol, the batcher, security, operations.

Every test starts a real bathy-serve on loopback (ports chosen by the
server, read from --port-file) and talks to it with the clients users have:
tritonclient (HTTP and gRPC) and the kserve SDK. Models: the bundled tiny
CNN (batch dim `batch`) and the torch-exported BERT block (batch, seq; seq
paddable with attention_mask). Issue #19.
"""
import concurrent.futures as cf
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from onnx_node_tests import tool

import tritonclient.grpc as tritongrpc
import tritonclient.http as tritonhttp
from tritonclient.utils import InferenceServerException

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny_cnn.onnxtext"


def run(*args, timeout=600):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout)


def compile_model(src, out, *flags):
    out.parent.mkdir(parents=True, exist_ok=True)
    r = run(tool("bathyc"), src, "-o", out, "--quiet", *flags)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def artifacts(exported, tmp_path_factory):
    d = tmp_path_factory.mktemp("serve_artifacts")
    return {
        "tiny": compile_model(TINY, d / "tiny.bathy"),
        "bert": compile_model(exported / "bert.onnx", d / "bert.bathy",
                              "--buckets=seq:16,64", "--pad=seq:mask=attention_mask"),
    }


def repository(tmp, artifacts, models=("tiny",), configs=None):
    repo = tmp / "repo"
    for m in models:
        (repo / m / "1").mkdir(parents=True, exist_ok=True)
        shutil.copy(artifacts[m], repo / m / "1" / "model.bathy")
        if configs and m in configs:
            (repo / m / "config.json").write_text(json.dumps(configs[m]))
    return repo


class Serve:
    """A bathy-serve process; stopped with SIGTERM (must exit 0)."""

    def __init__(self, repo, *flags, tls=None):
        self.dir = Path(repo).parent
        port_file = self.dir / f"ports-{time.monotonic_ns()}.json"
        self.log_path = self.dir / f"serve-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [tool("bathy-serve"), f"--model-repository={repo}", "--http-port=0",
             "--grpc-port=0", f"--port-file={port_file}", "--threads=2", *flags],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"bathy-serve exited: {self.output()}")
            assert time.time() < deadline, self.output()
            time.sleep(0.05)
        ports = json.loads(port_file.read_text())
        self.http_port, self.grpc_port = ports["http"], ports["grpc"]
        self.tls = tls
        self.url = f"127.0.0.1:{self.http_port}"
        self.grpc_url = f"127.0.0.1:{self.grpc_port}"

    def output(self):
        self.log.flush()
        return self.log_path.read_text()[-4000:]

    def http(self, **kw):
        if self.tls:
            kw.setdefault("ssl", True)
            kw.setdefault("ssl_context_factory", lambda: self.tls["context"]())
            kw.setdefault("insecure", False)
        return tritonhttp.InferenceServerClient(self.url, **kw)

    def grpc(self, **kw):
        if self.tls:
            kw.setdefault("ssl", True)
            kw.setdefault("root_certificates", str(self.tls["ca"]))
        return tritongrpc.InferenceServerClient(self.grpc_url, **kw)

    def per_thread(self, kind="http"):
        """A function giving each thread its own client (tritonclient's HTTP
        client runs on gevent and must stay on the thread that made it)."""
        local = threading.local()

        def get():
            if not hasattr(local, "c"):
                local.c = self.http() if kind == "http" else self.grpc()
            return local.c
        return get

    def raw(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()
        out = self.log_path.read_text()
        assert self.proc.returncode == 0, out[-3000:]
        assert "AddressSanitizer" not in out and "runtime error" not in out, out[-3000:]
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()
        elif self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def tiny_input(batch, seed=0):
    return np.random.RandomState(seed).rand(batch, 3, 16, 16).astype(np.float32)


def infer_tiny(client, x, mod=tritonhttp, binary=True, **kw):
    i = mod.InferInput("image", list(x.shape), "FP32")
    if mod is tritonhttp:
        i.set_data_from_numpy(x, binary_data=binary)
        outs = [mod.InferRequestedOutput("probs", binary_data=binary)]
    else:
        i.set_data_from_numpy(x)
        outs = [mod.InferRequestedOutput("probs")]
    return client.infer("tiny", [i], outputs=outs, **kw)


def bert_request(seq, batch=1, seed=0, pad_to=None, mod=tritonhttp):
    rs = np.random.RandomState(seed)
    ids = rs.randint(0, 1000, (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    inputs = []
    for name, a in (("input_ids", ids), ("attention_mask", mask)):
        i = mod.InferInput(name, list(a.shape), "INT64")
        i.set_data_from_numpy(a)
        inputs.append(i)
    return inputs


def bathy_run(artifact, tmp, **arrays):
    args = []
    for name, a in arrays.items():
        np.save(tmp / f"{name}.npy", a)
        args.append(f"--input={name}={tmp / f'{name}.npy'}")
    out = tmp / "out"
    r = run(tool("bathy-run"), artifact, f"--output-dir={out}", "--quiet", *args)
    assert r.returncode == 0, r.stderr[-2000:]
    return {p.stem: np.load(p) for p in out.iterdir()}


# --------------------------------------------------------------------------
# The protocol, with the real clients
# --------------------------------------------------------------------------

def test_the_grpc_messages_match_the_clients_definitions():
    """Our kserve.proto and tritonclient's grpc_service/model_config protos
    agree on every field number and type of every message we define."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc  # noqa: F401  (kserve brings grpcio-tools)
    from tritonclient.grpc import model_config_pb2, service_pb2
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "set.pb"
        import grpc_tools
        include = Path(grpc_tools.__file__).parent / "_proto"
        assert protoc.main(["protoc", f"-I{ROOT / 'serve'}", f"-I{include}",
                            f"--descriptor_set_out={out}", "kserve.proto"]) == 0
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    ours = fds.file[0]
    assert ours.package == "inference"
    theirs = {}
    for mod in (service_pb2, model_config_pb2):
        for name, desc in mod.DESCRIPTOR.message_types_by_name.items():
            theirs[name] = desc

    def check(msg, desc, path):
        fields = {f.name: f for f in desc.fields}
        for f in msg.field:
            assert f.name in fields, f"{path}.{f.name} is not in tritonclient's"
            t = fields[f.name]
            theirs_repeated = (t.is_repeated if hasattr(t, "is_repeated")
                               else t.label == t.LABEL_REPEATED)
            mine = (f.number, f.type, f.label == f.LABEL_REPEATED)
            assert mine == (t.number, t.type, theirs_repeated), \
                f"{path}.{f.name}: ours {mine}, theirs {(t.number, t.type, theirs_repeated)}"
        nested = {n.name: n for n in desc.nested_types}
        for m in msg.nested_type:
            if m.options.map_entry:
                continue
            check(m, nested[m.name], f"{path}.{m.name}")
    for m in ours.message_type:
        assert m.name in theirs, m.name
        check(m, theirs[m.name], m.name)
    service = service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    for method in ours.service[0].method:
        assert method.name in service.methods_by_name, method.name
    enum = model_config_pb2.DataType
    for v in ours.enum_type[0].value:
        assert enum.Value(v.name) == v.number, v.name


def test_health_metadata_and_config(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts, ("tiny", "bert"))
    with Serve(repo) as s:
        h, g = s.http(), s.grpc()
        assert h.is_server_live() and h.is_server_ready()
        assert g.is_server_live() and g.is_server_ready()
        assert h.is_model_ready("tiny") and g.is_model_ready("bert")
        assert not h.is_model_ready("nope") and not g.is_model_ready("nope")
        assert h.get_server_metadata()["name"] == "bathy"
        assert "binary_tensor_data" in g.get_server_metadata().extensions
        md = h.get_model_metadata("bert")
        assert md["versions"] == ["1"] and md["platform"] == "bathy"
        assert md["inputs"] == [
            {"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]},
            {"name": "attention_mask", "datatype": "INT64", "shape": [-1, -1]}]
        gm = g.get_model_metadata("tiny", "1")
        assert list(gm.inputs[0].shape) == [-1, 3, 16, 16]
        assert gm.outputs[0].name == "probs"
        # Triton's model configuration: dims without the batch dim.
        cfg = h.get_model_config("tiny")
        assert cfg["max_batch_size"] == 8 and cfg["input"][0]["dims"] == [3, 16, 16]
        gc = g.get_model_config("bert").config
        assert gc.max_batch_size == 8 and list(gc.input[0].dims) == [-1]
        # Preferred batch sizes default to the artifact's batch buckets (none here).
        assert list(gc.dynamic_batching.preferred_batch_size) == []
        with pytest.raises(InferenceServerException, match="version '7'"):
            h.get_model_metadata("tiny", "7")
        with pytest.raises(InferenceServerException, match="unknown model"):
            g.get_model_metadata("nope")


def test_inference_over_http_and_grpc_matches_the_runtime(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts, ("tiny", "bert"))
    x = tiny_input(3, seed=1)
    want = bathy_run(artifacts["tiny"], tmp_path, image=x)["probs"]
    ids = np.random.RandomState(5).randint(0, 1000, (2, 23)).astype(np.int64)
    mask = np.ones_like(ids)
    (tmp_path / "b").mkdir()
    bert_want = bathy_run(artifacts["bert"], tmp_path / "b", input_ids=ids,
                          attention_mask=mask)
    with Serve(repo) as s:
        h, g = s.http(), s.grpc()
        for binary in (True, False):
            r = infer_tiny(h, x, binary=binary, request_id="r1")
            assert r.get_response()["id"] == "r1"
            np.testing.assert_array_equal(r.as_numpy("probs"), want)
        np.testing.assert_array_equal(infer_tiny(g, x, tritongrpc).as_numpy("probs"), want)
        for mod, c in ((tritonhttp, h), (tritongrpc, g)):
            inputs = []
            for name, a in (("input_ids", ids), ("attention_mask", mask)):
                i = mod.InferInput(name, list(a.shape), "INT64")
                i.set_data_from_numpy(a)
                inputs.append(i)
            r = c.infer("bert", inputs)
            for name in ("hidden", "pooled"):
                np.testing.assert_array_equal(r.as_numpy(name), bert_want[name])
            # Only the outputs asked for.
            r = c.infer("bert", inputs, outputs=[mod.InferRequestedOutput("pooled")])
            assert r.as_numpy("hidden") is None
            np.testing.assert_array_equal(r.as_numpy("pooled"), bert_want["pooled"])
        # gRPC typed contents (no raw_input_contents).
        from tritonclient.grpc import service_pb2
        req = service_pb2.ModelInferRequest(model_name="tiny")
        t = req.inputs.add(name="image", datatype="FP32", shape=list(x.shape))
        t.contents.fp32_contents.extend(x.ravel().tolist())
        resp = g._client_stub.ModelInfer(req)
        got = np.frombuffer(resp.raw_output_contents[0], np.float32).reshape(3, 3)
        np.testing.assert_array_equal(got, want)


KSERVE_CLIENT = """
import asyncio, sys
import numpy as np
import kserve
from kserve import InferInput, InferRequest
url, grpc_url, data = sys.argv[1], sys.argv[2], sys.argv[3]
x = np.load(data)
async def go():
    rest = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2"))
    assert await rest.is_server_ready("http://" + url)
    i = InferInput("image", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=False)
    r = await rest.infer("http://" + url, InferRequest("tiny", [i]), model_name="tiny")
    await rest.close()
    g = kserve.InferenceGRPCClient(grpc_url)
    gi = InferInput("image", list(x.shape), "FP32")
    gi.set_data_from_numpy(x, binary_data=True)
    gr = await g.infer(InferRequest("tiny", [gi]))
    await g.close()
    np.save(data + ".rest.npy", r.outputs[0].as_numpy())
    np.save(data + ".grpc.npy", gr.outputs[0].as_numpy())
asyncio.run(go())
"""


def test_the_kserve_sdk_clients(artifacts, tmp_path):
    """The kserve SDK's v2 REST and gRPC clients. In a process of their own:
    kserve and tritonclient each register the `inference` protos, which one
    Python process cannot hold twice."""
    import importlib.util
    import sys
    assert importlib.util.find_spec("kserve"), "scripts/setup.sh installs kserve"
    repo = repository(tmp_path, artifacts)
    x = tiny_input(2, seed=3)
    want = bathy_run(artifacts["tiny"], tmp_path, image=x)["probs"]
    np.save(tmp_path / "x.npy", x)
    with Serve(repo) as s:
        r = subprocess.run([sys.executable, "-c", KSERVE_CLIENT, s.url, s.grpc_url,
                            str(tmp_path / "x.npy")], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy.rest.npy"), want)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy.grpc.npy"), want)


# --------------------------------------------------------------------------
# The batcher
# --------------------------------------------------------------------------

def metric(s, name, **labels):
    status, body = s.raw("GET", "/metrics")
    assert status == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_batched_responses_equal_requests_run_alone(artifacts, tmp_path):
    """Concurrent requests of mixed batch sizes and lengths are batched
    (padded along seq, which the BERT block's contract allows) and every
    response equals the response to the same request sent alone."""
    cfg = {"bert": {"max_batch_size": 8, "max_queue_delay_us": 20000},
           "tiny": {"max_batch_size": 8, "max_queue_delay_us": 20000}}
    repo = repository(tmp_path, artifacts, ("tiny", "bert"), cfg)
    rs = np.random.RandomState(0)
    bert_reqs = [(int(rs.randint(1, 3)), int(rs.randint(3, 40)), k) for k in range(24)]
    tiny_reqs = [(int(rs.randint(1, 4)), k) for k in range(24)]
    with Serve(repo) as s:
        c = s.per_thread()

        def bert(b, seq, seed):
            r = c().infer("bert", bert_request(seq, b, seed))
            return r.as_numpy("hidden"), r.as_numpy("pooled")

        def tiny(b, seed):
            return infer_tiny(c(), tiny_input(b, seed)).as_numpy("probs")

        alone_bert = [bert(*q) for q in bert_reqs]
        alone_tiny = [tiny(*q) for q in tiny_reqs]
        batches_before = metric(s, "bathy_batch_size_count", model="bert")
        with cf.ThreadPoolExecutor(32) as pool:
            fb = [pool.submit(bert, *q) for q in bert_reqs]
            ft = [pool.submit(tiny, *q) for q in tiny_reqs]
            got_bert = [f.result() for f in fb]
            got_tiny = [f.result() for f in ft]
        for (b, seq, _), (h, p), (wh, wp) in zip(bert_reqs, got_bert, alone_bert):
            assert h.shape == (b, seq, 64) and p.shape == (b, 64)
            np.testing.assert_array_equal(h, wh)
            np.testing.assert_array_equal(p, wp)
        for g, w in zip(got_tiny, alone_tiny):
            np.testing.assert_array_equal(g, w)
        # They really ran together, and padding was measured.
        batches = metric(s, "bathy_batch_size_count", model="bert") - batches_before
        assert batches < len(bert_reqs), batches
        assert metric(s, "bathy_padding_elements_total", model="bert") > 0
        assert metric(s, "bathy_batch_size_bucket", model="tiny", le="1") < \
            metric(s, "bathy_batch_size_count", model="tiny")


def test_preferred_batch_sizes_send_a_batch_at_once(artifacts, tmp_path):
    """A batch that reaches a preferred size goes without waiting out the
    queue delay; preferred sizes default to the artifact's batch buckets."""
    d = tmp_path / "art"
    bucketed = compile_model(TINY, d / "tiny.bathy", "--buckets=batch:2,4", "--pad=batch")
    repo = tmp_path / "repo"
    (repo / "tiny" / "1").mkdir(parents=True)
    shutil.copy(bucketed, repo / "tiny" / "1" / "model.bathy")
    (repo / "tiny" / "config.json").write_text(json.dumps(
        {"max_batch_size": 8, "max_queue_delay_us": 3000000}))
    with Serve(repo) as s:
        cfg = s.http().get_model_config("tiny")
        assert cfg["dynamic_batching"]["preferred_batch_size"] == [2, 4]
        c = s.per_thread()
        x = tiny_input(1)
        with cf.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: c().is_server_live(), range(8)))
            t0 = time.time()
            fs = [pool.submit(lambda: infer_tiny(c(), x)) for _ in range(2)]
            for f in fs:
                f.result()
        assert time.time() - t0 < 2.0       # not the 3 s queue delay
        assert metric(s, "bathy_batch_size_bucket", model="tiny", le="2") == 1
        assert metric(s, "bathy_plan_runs_total", model="tiny", plan="bucket") == 1


def test_a_full_queue_refuses_with_429_and_timeouts_expire(artifacts, tmp_path):
    cfg = {"tiny": {"max_batch_size": 64, "max_queue_delay_us": 1500000,
                    "max_queue_size": 2}}
    repo = repository(tmp_path, artifacts, configs=cfg)
    with Serve(repo) as s:
        h, g = s.http(), s.grpc()
        c = s.per_thread()
        x = tiny_input(1)
        with cf.ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(lambda: infer_tiny(c(), x)) for _ in range(2)]
            time.sleep(0.3)
            with pytest.raises(InferenceServerException, match="queue is full") as e:
                infer_tiny(h, x)
            assert "429" in str(e.value)
            with pytest.raises(InferenceServerException) as e:
                infer_tiny(g, x, tritongrpc)
            assert e.value.status() == "StatusCode.RESOURCE_EXHAUSTED"
            for f in waiting:
                f.result()
        # A request whose timeout passes while it waits for its batch.
        t0 = time.time()
        with pytest.raises(InferenceServerException, match="timeout passed") as e:
            infer_tiny(h, x, timeout=50000)
        assert "504" in str(e.value)
        assert time.time() - t0 < 1.2
        assert metric(s, "bathy_queue_rejections_total", reason="full") == 2
        assert metric(s, "bathy_queue_rejections_total", reason="timeout") == 1


def test_priorities_jump_the_queue(artifacts, tmp_path):
    """One instance, batches of one (each request fills the batch): a
    priority-1 request sent just after eight priority-2 ones is answered
    before at least two of them (one computes, one is staged, the rest wait
    in the lower queue)."""
    cfg = {"bert": {"max_batch_size": 64, "priority_levels": 2, "default_priority": 2}}
    repo = repository(tmp_path, artifacts, ("bert",), cfg)
    with Serve(repo) as s:
        c = s.per_thread()
        done = []
        lock = threading.Lock()

        def send(tag, priority):
            c().infer("bert", bert_request(128, 64, 1), priority=priority)
            with lock:
                done.append(tag)
        with cf.ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda _: c().is_server_live(), range(40)))
            fs = [pool.submit(send, f"low{k}", 2) for k in range(8)]
            time.sleep(0.01)
            fs.append(pool.submit(send, "high", 1))
            for f in fs:
                f.result()
        assert done.index("high") <= len(done) - 3, done


def test_adaptive_batching_follows_the_load(artifacts, tmp_path):
    """--latency-target-ms: with one slow client the cap stays 1 (waiting to
    fill a batch would cost more than the target allows); with 16 clients
    at full speed it grows; it never passes max_batch_size, and every
    request is served."""
    repo = repository(tmp_path, artifacts)
    with Serve(repo, "--latency-target-ms=5", "--max-batch-size=32",
               "--max-queue-delay-us=4000") as s:
        h = s.http()
        x = tiny_input(1)
        for _ in range(30):
            infer_tiny(h, x)
            time.sleep(0.03)
        assert metric(s, "bathy_batch_cap", model="tiny") == 1
        c = s.per_thread()
        caps = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                caps.append(metric(s, "bathy_batch_cap", model="tiny"))
                time.sleep(0.05)
        watcher = threading.Thread(target=watch)
        watcher.start()
        with cf.ThreadPoolExecutor(16) as pool:
            for f in [pool.submit(lambda: infer_tiny(c(), x)) for _ in range(400)]:
                f.result()
        stop.set()
        watcher.join()
        assert max(caps) > 1, caps
        assert max(caps) <= 32
        assert metric(s, "bathy_inference_requests_total", outcome="success") == 430


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

def test_hostile_requests_get_4xx_and_the_server_is_unharmed(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts)
    with Serve(repo, "--max-request-bytes=1M", "--read-timeout-s=2") as s:
        good = json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                       "shape": [1, 3, 16, 16], "data": [0.5] * 768}]})
        cases = [
            (b"{not json", 400, "not valid JSON"),
            (b"[1,2]", 400, "JSON object"),
            (json.dumps({"inputs": [{"name": "image", "datatype": "INT32",
                                     "shape": [1, 3, 16, 16], "data": [1] * 768}]}), 400,
             "the model takes FP32"),
            (json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                     "shape": [1, 3, 8, 8], "data": [1] * 192}]}), 400,
             "the model takes"),
            (json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                     "shape": [1, 3, 16, 16], "data": [1] * 700}]}), 400,
             "has 700 elements"),
            (json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                     "shape": [99, 3, 16, 16], "data": []}]}), 400,
             "max_batch_size"),
            (json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                     "shape": [1, 3, 16, 16],
                                     "parameters": {"binary_data_size": 3072}}]}), 400,
             "runs past"),
            (good.replace('"image"', '"imagee"'), 400, "unknown input"),
            (json.dumps({"inputs": [], "outputs": [{"name": "nope"}]}), 400, "no input"),
        ]
        for body, status, fragment in cases:
            st, data = s.raw("POST", "/v2/models/tiny/infer", body)
            assert st == status, (body[:80], st, data)
            assert fragment in json.loads(data)["error"], (body[:80], data)
        # Binary tensor extension: sizes that do not match the header.
        header = json.dumps({"inputs": [{"name": "image", "datatype": "FP32",
                                         "shape": [1, 3, 16, 16],
                                         "parameters": {"binary_data_size": 3072}}]}).encode()
        for tail, hlen, fragment in [(b"\0" * 3000, len(header), "runs past"),
                                     (b"\0" * 4000, len(header), "add up to"),
                                     (b"\0" * 3072, len(header) + 99999, "Inference-Header"),
                                     (b"\0" * 3072, "12x", "not a byte count")]:
            st, data = s.raw("POST", "/v2/models/tiny/infer", header + tail,
                             {"Inference-Header-Content-Length": str(hlen)})
            assert st == 400 and fragment in json.loads(data)["error"], data
        st, data = s.raw("POST", "/v2/models/tiny/infer", header + b"\0" * 3072,
                         {"Inference-Header-Content-Length": str(len(header))})
        assert st == 200, data
        # binary_data_output: every output as binary, its size in the JSON.
        asked = json.dumps({"inputs": json.loads(good)["inputs"],
                            "parameters": {"binary_data_output": True}})
        c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=30)
        c.request("POST", "/v2/models/tiny/infer", body=asked)
        r = c.getresponse()
        body = r.read()
        c.close()
        n = int(r.getheader("Inference-Header-Content-Length"))
        head = json.loads(body[:n])
        assert head["outputs"][0]["parameters"]["binary_data_size"] == 12
        assert len(body) == n + 12 and "data" not in head["outputs"][0]
        # Unknown models and versions; over the body limit; oversize headers.
        assert s.raw("POST", "/v2/models/nope/infer", good)[0] == 404
        assert s.raw("POST", "/v2/models/tiny/versions/2/infer", good)[0] == 404
        assert s.raw("GET", "/v2/models/tiny/versions/x/ready")[0] == 404
        assert s.raw("POST", "/v2/models/tiny/infer", b"[" + b"1," * 700000 + b"1]")[0] == 413
        st, _ = s.raw("GET", "/v2/health/live", headers={"X-Big": "a" * 20000})
        assert 400 <= st < 500
        # A slow client holding a half-sent request does not block others and
        # is dropped after --read-timeout-s.
        slow = socket.create_connection(("127.0.0.1", s.http_port))
        slow.sendall(b"POST /v2/models/tiny/infer HTTP/1.1\r\nContent-Length: 100000\r\n\r\n{")
        assert s.raw("POST", "/v2/models/tiny/infer", good)[0] == 200
        slow.settimeout(10)
        t0 = time.time()
        try:
            rest = slow.recv(1000)
        except (ConnectionResetError, socket.timeout):
            rest = b""
        assert time.time() - t0 < 8
        slow.close()
        assert b"200" not in rest
        # gRPC: the same checks, with the gRPC codes.
        g = s.grpc()
        from tritonclient.grpc import service_pb2
        import grpc
        req = service_pb2.ModelInferRequest(model_name="tiny")
        req.inputs.add(name="image", datatype="FP32", shape=[1, 3, 16, 16])
        req.raw_input_contents.append(b"\0" * 100)
        with pytest.raises(grpc.RpcError) as e:
            g._client_stub.ModelInfer(req)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "raw_input_contents has 100 bytes" in e.value.details()
        req.model_name = "nope"
        with pytest.raises(grpc.RpcError) as e:
            g._client_stub.ModelInfer(req)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert s.http().is_server_live()
        assert s.raw("POST", "/v2/models/tiny/infer", good)[0] == 200


def test_the_memory_budget_holds_for_every_request(artifacts, tmp_path):
    """--max-memory bounds what requests may hold: a run over it is refused
    (429 / RESOURCE_EXHAUSTED, naming the limit) and the server goes on."""
    repo = repository(tmp_path, artifacts, ("bert",))
    with Serve(repo, "--max-memory=64K") as s:
        h, g = s.http(), s.grpc()
        with pytest.raises(InferenceServerException, match="memory limit") as e:
            h.infer("bert", bert_request(120, 8))
        assert "429" in str(e.value)
        with pytest.raises(InferenceServerException) as e:
            g.infer("bert", bert_request(120, 8, mod=tritongrpc))
        assert e.value.status() == "StatusCode.RESOURCE_EXHAUSTED"
        r = h.infer("bert", bert_request(4, 1))
        assert r.as_numpy("pooled").shape == (1, 64)
        assert metric(s, "bathy_memory_bytes", kind="in_use") == 0


def test_the_repository_cannot_be_escaped(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts)
    outside = tmp_path / "outside"
    (outside / "1").mkdir(parents=True)
    shutil.copy(artifacts["tiny"], outside / "1" / "model.bathy")
    (repo / "linked").symlink_to(outside)          # a model folder leading out
    (repo / "filelink" / "1").mkdir(parents=True)  # a model file leading out
    (repo / "filelink" / "1" / "model.bathy").symlink_to(outside / "1" / "model.bathy")
    (repo / "cfglink" / "1").mkdir(parents=True)
    shutil.copy(artifacts["tiny"], repo / "cfglink" / "1" / "model.bathy")
    (outside / "config.json").write_text("{}")
    (repo / "cfglink" / "config.json").symlink_to(outside / "config.json")
    with Serve(repo) as s:
        h = s.http()
        assert h.is_model_ready("tiny")
        for m in ("linked", "filelink", "cfglink"):
            assert not h.is_model_ready(m), m
        for name in ("..", "../outside", "%2e%2e", "..%2Foutside", "linked", "filelink"):
            st, data = s.raw("POST", f"/v2/repository/models/{name}/load")
            assert 400 <= st < 500, (name, st, data)
        st, data = s.raw("POST", "/v2/repository/models/filelink/load")
        assert "outside the folder" in json.loads(data)["error"]
        index = {e["name"]: e for e in h.get_model_repository_index()}
        assert index["tiny"]["state"] == "READY"
        assert index["filelink"]["state"] == "UNAVAILABLE"
        assert "linked" not in index   # a symlinked folder is not a model
        assert s.raw("GET", "/v2/models/..%2F..%2Fetc%2Fpasswd")[0] == 404


def test_a_bad_config_or_tokens_file_is_refused_at_start(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts, configs={"tiny": {"max_batch": 4}})
    with Serve(repo) as s:
        assert not s.http().is_server_ready()     # tiny failed to load
        index = s.http().get_model_repository_index()
        assert 'unknown key "max_batch"' in index[0]["reason"]
    (tmp_path / "tokens.json").write_text('{"tokens": [{"identity": "x"}]}')
    r = run(tool("bathy-serve"), f"--model-repository={repo}",
            f"--tokens={tmp_path / 'tokens.json'}", timeout=30)
    assert r.returncode == 2 and "needs one of" in r.stderr
    # A CPU the machine lacks: said, and the server serves unpinned.
    good = repository(tmp_path / "pin", artifacts)
    with Serve(good, "--cpu-affinity=1000") as s:
        assert s.http().is_model_ready("tiny")
    assert "cannot pin batch worker 0 to CPU 1000" in s.stop()
    r = run(tool("bathy-serve"), "--model-repository=/nonexistent", timeout=30)
    assert r.returncode == 2 and "is not a folder" in r.stderr
    r = run(tool("bathy-serve"), "--frobnicate", timeout=30)
    assert r.returncode == 2 and "--help" in r.stderr


# --------------------------------------------------------------------------
# Security and operations
# --------------------------------------------------------------------------

def test_tokens_and_scopes(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts, ("tiny", "bert"))
    tokens = {"tokens": [
        {"identity": "reader", "token": "reader-token-0123456789",
         "scopes": {"*": ["read"], "tiny": ["read", "infer"]}},
        {"identity": "ops", "token": "ops-token-0123456789abcd", "scopes": {"*": ["admin"]}}]}
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    audit = tmp_path / "audit.log"
    with Serve(repo, f"--tokens={tmp_path / 'tokens.json'}", f"--audit-log={audit}") as s:
        x = tiny_input(1)
        reader = {"Authorization": "Bearer reader-token-0123456789"}
        ops = {"Authorization": "Bearer ops-token-0123456789abcd"}
        h = s.http()
        assert h.is_server_live()                      # health needs no token
        with pytest.raises(InferenceServerException) as e:
            infer_tiny(h, x)
        assert "401" in str(e.value)
        with pytest.raises(InferenceServerException) as e:
            infer_tiny(h, x, headers={"Authorization": "Bearer wrong-token-0000000000"})
        assert "401" in str(e.value)
        infer_tiny(h, x, headers=reader)
        assert h.get_model_metadata("bert", headers=reader)["name"] == "bert"
        with pytest.raises(InferenceServerException, match="may not infer") as e:
            h.infer("bert", bert_request(8), headers=reader)
        assert "403" in str(e.value)
        with pytest.raises(InferenceServerException) as e:
            h.unload_model("tiny", headers=reader)
        assert "403" in str(e.value)
        g = s.grpc()
        # gRPC metadata keys are lower case. (tritonclient's HTTP client
        # adds its own headers to the dict it is given, so fresh ones.)
        greader = {"authorization": "Bearer reader-token-0123456789"}
        gops = {"authorization": "Bearer ops-token-0123456789abcd"}
        with pytest.raises(InferenceServerException) as e:
            infer_tiny(g, x, tritongrpc)
        assert e.value.status() == "StatusCode.UNAUTHENTICATED"
        with pytest.raises(InferenceServerException) as e:
            g.infer("bert", bert_request(8, mod=tritongrpc), headers=greader)
        assert e.value.status() == "StatusCode.PERMISSION_DENIED"
        infer_tiny(g, x, tritongrpc, headers=greader)
        h.unload_model("bert", headers=ops)
        assert not h.is_model_ready("bert", headers=ops)
        g.load_model("bert", headers=gops)
        assert g.is_model_ready("bert", headers=gops)
        assert s.raw("GET", "/metrics")[0] == 401
        assert s.raw("GET", "/metrics", headers=reader)[0] == 200
    lines = [json.loads(l) for l in audit.read_text().splitlines()]
    keys = {"time", "client", "identity", "model", "version", "action", "outcome",
            "status", "bytes_in", "bytes_out", "latency_ms"}
    assert all(keys <= set(l) for l in lines)
    denied = [l for l in lines if l["outcome"] == "denied"]
    assert {l["status"] for l in denied} == {401, 403}
    ok = [l for l in lines if l["action"] == "infer" and l["outcome"] == "ok"]
    assert {l["identity"] for l in ok} == {"reader"} and all(l["bytes_in"] > 0 for l in ok)
    actions = [(l["action"], l["identity"], l["outcome"]) for l in lines]
    assert ("repository_unload", "ops", "ok") in actions
    assert ("repository_load", "ops", "ok") in actions
    assert ("load", "server", "ok") in actions and ("unload", "server", "ok") in actions
    # A load records the configuration the version runs with.
    loads = [l for l in lines if l["action"] == "load" and l["model"] == "bert"]
    assert "max_batch_size=8" in loads[0]["detail"]
    assert "pad=[seq:value=0:mask=attention_mask:mask-value=0]" in loads[0]["detail"]


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def ossl(*args):
        r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=d)
        assert r.returncode == 0, r.stderr
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
         "-out", "ca.pem", "-days", "2", "-subj", "/CN=bathy test CA")
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/CN={name}")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", str(ext))
    return d


def test_tls_13_and_client_certificates(artifacts, tmp_path):
    certs = make_certs(tmp_path)
    repo = repository(tmp_path, artifacts)
    x = tiny_input(2)

    def context(client_cert=True, max_version=None):
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        if client_cert:
            ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client.key"))
        if max_version:
            ctx.maximum_version = max_version
        return ctx
    tls = {"ca": certs / "ca.pem", "context": context}
    with Serve(repo, f"--tls-cert={certs / 'server.pem'}", f"--tls-key={certs / 'server.key'}",
               f"--tls-client-ca={certs / 'ca.pem'}", f"--audit-log={tmp_path / 'a.log'}",
               tls=tls) as s:
        h = s.http()
        want = infer_tiny(h, x).as_numpy("probs")
        with socket.create_connection(("127.0.0.1", s.http_port)) as raw:
            with context().wrap_socket(raw, server_hostname="127.0.0.1") as t:
                assert t.version() == "TLSv1.3"
        # TLS 1.2 is refused; so is a client without a certificate.
        for ctx in (context(max_version=ssl.TLSVersion.TLSv1_2), context(client_cert=False)):
            with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
                with socket.create_connection(("127.0.0.1", s.http_port)) as raw:
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                        t.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                        assert t.recv(100)
        # Plain HTTP to the TLS port gets nothing useful.
        with pytest.raises(Exception):
            tritonhttp.InferenceServerClient(s.url).is_server_live()
        # gRPC negotiates TLS 1.3 too (Debian's gRPC 1.51 cannot be told to
        # refuse 1.2: docs/serving.md).
        with socket.create_connection(("127.0.0.1", s.grpc_port)) as raw:
            ctx = context()
            ctx.set_alpn_protocols(["h2"])
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                assert t.version() == "TLSv1.3"
        g = s.grpc(private_key=str(certs / "client.key"),
                   certificate_chain=str(certs / "client.pem"))
        np.testing.assert_array_equal(infer_tiny(g, x, tritongrpc).as_numpy("probs"), want)
        bare = s.grpc()  # no client certificate
        with pytest.raises(InferenceServerException):
            bare.is_server_live()
    clients = [json.loads(l)["client"] for l in (tmp_path / "a.log").read_text().splitlines()
               if json.loads(l)["action"] == "infer"]
    assert any("cert=" in c and "CN=client" in c for c in clients), clients


SUITE = ["resnet50", "mobilenet_v2", "efficientnet_b0", "vit", "bert", "gpt2", "llama"]


def test_the_suite_models_over_tls_with_tokens(exported, tmp_path):
    """Every model of the e2e suite, compiled by bathyc, served over TLS with
    a token, to tritonclient over HTTP and gRPC: outputs equal bathy-run's
    on the same artifact."""
    certs = make_certs(tmp_path)
    repo = tmp_path / "repo"
    for name in SUITE:
        compile_model(exported / f"{name}.onnx", repo / name / "1" / "model.bathy")
    (tmp_path / "tokens.json").write_text(json.dumps({"tokens": [
        {"identity": "app", "token": "app-token-0123456789abcdef", "scopes": {"*": ["read", "infer"]}}]}))
    tls = {"ca": certs / "ca.pem",
           "context": lambda: ssl.create_default_context(cafile=str(certs / "ca.pem"))}
    auth = {"Authorization": "Bearer app-token-0123456789abcdef"}
    rs = np.random.RandomState(11)
    with Serve(repo, f"--tls-cert={certs / 'server.pem'}", f"--tls-key={certs / 'server.key'}",
               f"--tokens={tmp_path / 'tokens.json'}", tls=tls) as s:
        h, g = s.http(), s.grpc()
        for name in SUITE:
            md = h.get_model_metadata(name, headers=dict(auth))
            arrays = {}
            for spec in md["inputs"]:
                shape = [2 if d == 0 else 16 if n < 0 else n
                         for d, n in enumerate(spec["shape"])]
                if spec["datatype"] == "FP32":
                    arrays[spec["name"]] = rs.rand(*shape).astype(np.float32)
                elif "mask" in spec["name"]:
                    arrays[spec["name"]] = np.ones(shape, np.int64)
                else:
                    arrays[spec["name"]] = rs.randint(0, 1000, shape).astype(np.int64)
            (tmp_path / name).mkdir()
            want = bathy_run(repo / name / "1" / "model.bathy", tmp_path / name, **arrays)
            for mod, client, headers in ((tritonhttp, h, dict(auth)),
                                         (tritongrpc, g, {"authorization": auth["Authorization"]})):
                inputs = []
                for n, a in arrays.items():
                    i = mod.InferInput(n, list(a.shape), "FP32" if a.dtype == np.float32 else "INT64")
                    i.set_data_from_numpy(a)
                    inputs.append(i)
                r = client.infer(name, inputs, headers=headers)
                for out in md["outputs"]:
                    got = r.as_numpy(out["name"])
                    np.testing.assert_array_equal(got, want[out["name"]], err_msg=f"{name} {mod.__name__}")


def test_audit_log_rotation_and_retention(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts)
    logs = tmp_path / "logs"
    logs.mkdir()
    old = logs / "audit.log.20200101T000000.000000Z"
    old.write_text("{}\n")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    recent = logs / "audit.log.20261130T000000.000000Z"
    recent.write_text("{}\n")
    os.utime(recent, (time.time() - 2 * 86400,) * 2)
    with Serve(repo, f"--audit-log={logs / 'audit.log'}", "--audit-max-size=2000",
               "--audit-retention-days=30") as s:
        h = s.http()
        for _ in range(30):
            infer_tiny(h, tiny_input(1))
    assert not old.exists() and recent.exists()
    rotated = sorted(p for p in logs.iterdir() if p.name != "audit.log" and p != recent)
    assert len(rotated) >= 3
    lines = 0
    for p in rotated + [logs / "audit.log"]:
        assert p.stat().st_size <= 2000
        assert oct(p.stat().st_mode & 0o777) == "0o600"
        lines += sum(1 for l in p.read_text().splitlines() if json.loads(l)["action"] == "infer")
    assert lines == 30
    # Rotation by interval.
    logs2 = tmp_path / "logs2"
    logs2.mkdir()
    with Serve(repo, f"--audit-log={logs2 / 'audit.log'}", "--audit-rotation-interval=0.5") as s:
        h = s.http()
        for _ in range(4):
            infer_tiny(h, tiny_input(1))
            time.sleep(0.6)
    assert len(list(logs2.iterdir())) >= 4


def test_new_versions_are_swapped_in_under_load(artifacts, tmp_path):
    """Version 2 appears while clients keep sending: no request fails, the
    responses move to version 2; a broken version 3 leaves 2 serving."""
    repo = repository(tmp_path, artifacts)
    with Serve(repo, "--poll-secs=0.2") as s:
        c = s.per_thread()
        x = tiny_input(2)
        want = infer_tiny(s.http(), x).as_numpy("probs")
        versions, errors, stop = [], [], threading.Event()

        def client():
            while not stop.is_set():
                try:
                    r = infer_tiny(c(), x)
                    np.testing.assert_array_equal(r.as_numpy("probs"), want)
                    versions.append(r.get_response()["model_version"])
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        staging = repo / "tiny" / "staging"
        staging.mkdir()
        shutil.copy(artifacts["tiny"], staging / "model.bathy")
        staging.rename(repo / "tiny" / "2")
        deadline = time.time() + 20
        while "2" not in versions[-5:] and time.time() < deadline:
            time.sleep(0.1)
        (repo / "tiny" / "3").mkdir()
        (repo / "tiny" / "3" / "model.bathy").write_bytes(b"BATHYART" + b"\0" * 100)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        assert versions[0] == "1" and versions[-1] == "2", versions[-5:]
        assert s.http().get_model_metadata("tiny")["versions"] == ["2"]
    out = s.stop() if s.proc.poll() is None else s.log_path.read_text()
    assert "loaded tiny version 2 (was 1)" in out
    assert "cannot load tiny version 3" in out
    assert out.count("cannot load tiny version 3") == 1   # not retried every poll


def test_sigterm_finishes_requests_in_flight(artifacts, tmp_path):
    cfg = {"tiny": {"max_batch_size": 64, "max_queue_delay_us": 800000}}
    repo = repository(tmp_path, artifacts, configs=cfg)
    s = Serve(repo)
    c = s.per_thread()
    x = tiny_input(1)
    with cf.ThreadPoolExecutor(6) as pool:
        fs = [pool.submit(lambda: infer_tiny(c(), x)) for _ in range(6)]
        time.sleep(0.3)   # they wait in the queue for their batch
        s.proc.send_signal(signal.SIGTERM)
        results = [f.result().as_numpy("probs") for f in fs]
    assert all(r.shape == (1, 3) for r in results)
    out = s.stop()
    assert "SIGTERM: finishing requests in flight" in out and "stopped" in out


def test_metrics_are_prometheus_text(artifacts, tmp_path):
    repo = repository(tmp_path, artifacts)
    with Serve(repo) as s:
        infer_tiny(s.http(), tiny_input(2))
        st, body = s.raw("GET", "/metrics")
        text = body.decode()
        assert st == 200
        for family in ("bathy_inference_requests_total", "bathy_queue_seconds_total",
                       "bathy_compute_seconds_total", "bathy_batch_size",
                       "bathy_padding_elements_total", "bathy_inference_in_flight",
                       "bathy_memory_bytes"):
            assert f"# TYPE {family} " in text, family
        assert 'bathy_inference_requests_total{model="tiny",version="1",outcome="success"} 1' in text
        assert 'bathy_batch_size_bucket{model="tiny",version="1",le="2"} 1' in text


def test_load_from_1_to_32_concurrent_clients(artifacts, tmp_path):
    """A bounded load test: concurrency 1 to 32 over HTTP and gRPC, every
    response checked against the same request answered alone."""
    repo = repository(tmp_path, artifacts, ("tiny", "bert"))
    rs = np.random.RandomState(7)
    inputs = [tiny_input(int(rs.randint(1, 5)), seed=k) for k in range(16)]
    with Serve(repo, "--max-queue-delay-us=2000", "--instances=2", "--prefetch-batches=2",
               "--cpu-affinity=0") as s:
        h, g = s.per_thread("http"), s.per_thread("grpc")
        want = [infer_tiny(h(), x).as_numpy("probs") for x in inputs]
        lost = mismatched = sent = 0
        for conc in (1, 2, 4, 8, 16, 32):
            def one(k):
                x = inputs[k % len(inputs)]
                if k % 2:
                    r = infer_tiny(h(), x)
                else:
                    r = infer_tiny(g(), x, tritongrpc)
                return k, r.as_numpy("probs")
            with cf.ThreadPoolExecutor(conc) as pool:
                fs = [pool.submit(one, k) for k in range(conc * 4)]
                for f in fs:
                    sent += 1
                    try:
                        k, got = f.result(timeout=120)
                    except Exception:  # noqa: BLE001
                        lost += 1
                        continue
                    if not np.array_equal(got, want[k % len(inputs)]):
                        mismatched += 1
        assert (lost, mismatched) == (0, 0), (lost, mismatched, sent)
        assert sent == 4 * (1 + 2 + 4 + 8 + 16 + 32)

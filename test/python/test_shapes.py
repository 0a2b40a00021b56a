"""Shapes that change: buckets, background specialisation, the compile cache.

- bathyc --buckets/--pad: one plan per bucket in the artifact; a request of
  a bucket's exact sizes runs on it, a smaller one (along a dim the model's
  contract lets us pad) runs padded on the smallest bucket that holds it,
  anything else on the generic plan -- with the generic plan's outputs.
- bathy-run --specialize-after: hot shapes get a plan compiled on a
  background thread; at most --max-specializations live; a failed
  specialisation is reported and never retried.
- The compile cache: a second process compiles nothing; two processes
  racing on one key both succeed and leave one good entry; a damaged entry
  is removed and rebuilt; bathy-cache lists, verifies, collects, clears.
- --shape-trace replays a trace and ends with the summary line scripts read.
Issue #18. Models: the torch-exported BERT block (conftest's `exported`)
and small ONNX graphs written here.
"""
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from onnx_node_tests import tool

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny_cnn.onnxtext"
TRACE_LINE = re.compile(
    r"^trace: (\d+) requests, (\d+) shapes, (\d+) compiles \((\d+) foreground, "
    r"(\d+) background\), (\d+) cache hits, p50 [0-9.]+ ms, p99 [0-9.]+ ms$", re.M)

# Reshape [n] -> [2, -1]: the generic plan checks at run time (odd n fails
# with an error); a plan specialised for odd n fails to compile.
PAIRS = """<ir_version: 8, opset_import: ["" : 17]>
pairs (float[n] x) => (float[a, b] y) {
  shape = Constant <value = int64[2] {2, -1}> ()
  y = Reshape (x, shape)
}
"""


def run(*args, env=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout, env=e)


def ok(r):
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert "Stack dump" not in r.stderr and "LLVM ERROR" not in r.stderr
    return r


def refused(r, *fragments):
    assert r.returncode == 1, (r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    assert "error: " in r.stderr, r.stderr[-2000:]
    assert "Stack dump" not in r.stderr and "Sanitizer" not in r.stderr
    for f in fragments:
        assert f in r.stderr, (f, r.stderr[-2000:])
    return r.stderr


def trace_counts(stdout):
    m = TRACE_LINE.search(stdout)
    assert m, stdout
    keys = ["requests", "shapes", "compiles", "foreground", "background", "hits"]
    return dict(zip(keys, map(int, m.groups())))


def plan_requests(stdout):
    """Requests per plan kind from a trace report."""
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"^plan ([a-z ]+):\s+(\d+) requests", stdout, re.M)}


def write(path, text):
    Path(path).write_text(text)
    return path


def bert_inputs(tmp, seq, batch=2):
    ids = np.random.RandomState(seq).randint(0, 1000, (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    np.save(tmp / "ids.npy", ids)
    np.save(tmp / "mask.npy", mask)
    return [f"--input=input_ids={tmp / 'ids.npy'}",
            f"--input=attention_mask={tmp / 'mask.npy'}"]


def outputs(model, out_dir, *args, env=None):
    ok(run(tool("bathy-run"), model, f"--output-dir={out_dir}", "--quiet", *args,
           env=env))
    return {p.name: np.load(p) for p in sorted(Path(out_dir).iterdir())}


# --------------------------------------------------------------------------
# Buckets ahead of time
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bucketed(exported, tmp_path_factory):
    out = tmp_path_factory.mktemp("buckets") / "bert.bathy"
    ok(run(tool("bathyc"), exported / "bert.onnx", "-o", out, "--quiet",
           "--buckets=seq:16,64", "--pad=seq:mask=attention_mask"))
    return out


def test_the_manifest_lists_buckets_and_padding(bucketed):
    meta = json.loads(ok(run(tool("bathy-meta"), bucketed, "--json")).stdout)
    assert meta["format"] == "1.1"
    assert meta["buckets"] == [{"plan": 1, "dims": {"seq": 16}},
                               {"plan": 2, "dims": {"seq": 64}}]
    assert meta["pad"] == [{"dim": "seq", "value": 0,
                            "mask_input": "attention_mask", "mask_value": 0}]
    assert len(meta["plans"]) == 3
    # One copy of the weights for three plans.
    weights = next(s for s in meta["sections"] if s["name"] == "weights")
    assert weights["bytes"] <= meta["plans"][0]["weight_bytes"] + 64 * meta["plans"][0]["constants"]
    assert ["buckets", "seq:16,64"] in meta["options"]
    text = ok(run(tool("bathy-meta"), bucketed)).stdout
    assert "plan        1 (bucket seq=16)" in text and "(generic)" in text
    assert "pad         seq (value 0, mask input attention_mask" in text
    # The outputs' dims carry the model's names (what padding cuts back).
    assert "output      hidden: f32[batch, seq, 64]" in text


@pytest.mark.parametrize("seq,kind", [(16, "bucket"), (37, "padded bucket"),
                                      (100, "generic")])
def test_bucketed_runs_match_the_generic_plan(exported, bucketed, tmp_path, seq, kind):
    flags = bert_inputs(tmp_path, seq)
    want = outputs(exported / "bert.onnx", tmp_path / "jit", "--no-cache", *flags)
    for binary in ("bathy-run", "bathy-run-runtime"):
        got = outputs(bucketed, tmp_path / binary, *flags)
        for name in want:
            assert got[name].shape == want[name].shape, name
            np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)
    # And the plan that served it.
    trace = write(tmp_path / "one.txt", f"batch=2 seq={seq}\n")
    r = ok(run(tool("bathy-run-runtime"), bucketed, f"--shape-trace={trace}"))
    assert plan_requests(r.stdout) == {kind: 1}, r.stdout


def test_padding_uses_the_contract(exported, bucketed, tmp_path):
    """A wrong mask value (attend to the padding) changes the answer: the
    padded run really is padded, and the contract is what makes it right."""
    flags = bert_inputs(tmp_path, 37)
    want = outputs(exported / "bert.onnx", tmp_path / "jit", "--no-cache", *flags)
    got = outputs(bucketed, tmp_path / "bad", "--pad=seq:mask=attention_mask:mask-value=1",
                  *flags)
    assert np.abs(got["hidden.npy"] - want["hidden.npy"]).max() > 1e-2


def test_a_trace_on_buckets(bucketed, tmp_path):
    trace = write(tmp_path / "t.txt",
                  "# seq 16 exactly, padded up to 16 and 64, too long\n"
                  "batch=1 seq=16\nbatch=1 seq=3\nbatch=1 seq=40\n\n"
                  "batch=1 seq=64\nbatch=1 seq=65\n")
    r = ok(run(tool("bathy-run-runtime"), bucketed, f"--shape-trace={trace}"))
    assert plan_requests(r.stdout) == {"bucket": 2, "padded bucket": 2,
                                       "generic": 1}, r.stdout
    c = trace_counts(r.stdout)
    assert (c["requests"], c["shapes"], c["compiles"], c["hits"]) == (5, 5, 0, 0)
    assert "memory: RSS" in r.stdout


def test_buckets_from_a_file(exported, tmp_path):
    spec = write(tmp_path / "buckets.txt",
                 "# buckets for serving\nseq: pow2:8..16\npad: seq:mask=attention_mask\n")
    out = tmp_path / "b.bathy"
    r = ok(run(tool("bathyc"), exported / "bert.onnx", "-o", out,
               f"--buckets-file={spec}"))
    assert "2 buckets" in r.stdout
    meta = json.loads(ok(run(tool("bathy-meta"), out, "--json")).stdout)
    assert [b["dims"] for b in meta["buckets"]] == [{"seq": 8}, {"seq": 16}]
    assert meta["pad"][0]["mask_input"] == "attention_mask"


@pytest.mark.parametrize("args,fragment", [
    (["--buckets=len:1,2"], "no dynamic dim named 'len'; its dynamic dims are: batch, seq"),
    (["--buckets=seq:0"], "'0' is not a size >= 1"),
    (["--buckets=seq:pow2:10..5"], "is not pow2:A..B"),
    (["--buckets=seq:pow2:9..15"], "holds no power of two"),
    (["--buckets=seq:x"], "'x' is not a size"),
    (["--buckets=seq:1;seq:2"], "bucketed twice"),
    (["--buckets=seq"], "is not DIM:SIZES"),
    (["--buckets=batch:1,2,3,4,5,6,7,8,9;seq:1,2,3,4,5,6,7,8"], "72 buckets"),
    (["--buckets=seq:4", "--static-shapes"], "--static-shapes compiles one shape"),
    (["--pad=len"], "no dynamic dim named 'len'"),
    (["--pad=seq:mask=nope"], "no input named 'nope'"),
    (["--pad=seq:value=nan"], "is not value=NUMBER"),
    (["--pad=seq:colour=red"], "is not value=NUMBER"),
    (["--pad="], "--pad expects DIM"),
])
def test_bad_bucket_flags_are_refused(exported, tmp_path, args, fragment):
    refused(run(tool("bathyc"), exported / "bert.onnx", "-o", tmp_path / "x.bathy",
                *args), fragment)
    assert not (tmp_path / "x.bathy").exists()


def test_a_bad_buckets_file_names_the_line(exported, tmp_path):
    spec = write(tmp_path / "b.txt", "seq: 8\n\nbatch 4\n")
    refused(run(tool("bathyc"), exported / "bert.onnx", "-o", tmp_path / "x.bathy",
                f"--buckets-file={spec}"), "b.txt:3: 'batch 4' is not DIM:SIZES")


# --------------------------------------------------------------------------
# Background specialisation
# --------------------------------------------------------------------------

def test_hot_shapes_are_specialised_in_the_background(exported, tmp_path):
    trace = write(tmp_path / "t.txt",
                  "batch=1 seq=8\nbatch=1 seq=8\nbatch=1 seq=5\nwait\n"
                  + "batch=1 seq=8\n" * 3 + "batch=1 seq=5\n")
    r = ok(run(tool("bathy-run"), exported / "bert.onnx", "--no-cache",
               f"--shape-trace={trace}", "--specialize-after=2"))
    # seq=8 was seen twice before the wait: specialised; seq=5 once: not.
    assert plan_requests(r.stdout) == {"generic": 4, "specialized": 3}, r.stdout
    c = trace_counts(r.stdout)
    assert (c["requests"], c["shapes"], c["foreground"]) == (7, 2, 1)
    # seq=5 reached 2 at the last request: its compile is the second.
    assert c["background"] == 2, r.stdout
    assert "2 asked, 2 ready" in r.stdout


def test_specialisations_are_bounded(exported, tmp_path):
    trace = write(tmp_path / "t.txt",
                  "".join(f"batch=1 seq={s}\nbatch=1 seq={s}\nwait\nbatch=1 seq={s}\n"
                          for s in (4, 5, 6)))
    r = ok(run(tool("bathy-run"), exported / "bert.onnx", "--no-cache",
               f"--shape-trace={trace}", "--specialize-after=2",
               "--max-specializations=1"))
    assert "3 ready (0 from the cache), 0 failed, 2 evicted, 1 alive" in r.stdout, r.stdout
    assert r.stderr.count("note: evicted the specialisation") == 2
    assert plan_requests(r.stdout) == {"generic": 6, "specialized": 3}
    # A memory cap below one specialisation keeps none.
    r = ok(run(tool("bathy-run"), exported / "bert.onnx", "--no-cache",
               f"--shape-trace={trace}", "--specialize-after=2",
               "--max-specialization-memory=1K"))
    assert "3 evicted, 0 alive" in r.stdout, r.stdout
    assert plan_requests(r.stdout) == {"generic": 9}


def test_a_failed_specialisation_is_reported_once(tmp_path):
    model = write(tmp_path / "pairs.onnxtext", PAIRS)
    trace = write(tmp_path / "t.txt", "n=4\nn=3\nn=3\nn=3\nwait\nn=3\nn=3\nn=4\n")
    r = run(tool("bathy-run"), model, "--no-cache", f"--shape-trace={trace}",
            "--specialize-after=2")
    # Odd n fails at run time on the generic plan (every time), and its
    # specialisation fails to compile (once: never retried).
    assert r.returncode == 1, r.stderr
    assert "errors: 5 of 7 requests failed; the first: request 2 (n=3): node " in r.stdout
    assert r.stderr.count("note: specialising for n=3 failed") == 1, r.stderr
    assert "2 asked, 1 ready (0 from the cache), 1 failed" in r.stdout, r.stdout


@pytest.mark.parametrize("text,fragment", [
    ("seq=8\nseq=x\n", "t.txt:2: expected NAME=SIZE, got 'seq=x'"),
    ("seq=8 len=3\n", "t.txt:1: the model has no dynamic dim named 'len'"),
    ("seq=-1\n", "expected NAME=SIZE"),
    ("# nothing\nwait\n", "holds no request"),
    ("seq=100000000000\n", "input 'input_ids'"),
])
def test_bad_traces_are_refused(exported, tmp_path, text, fragment):
    trace = write(tmp_path / "t.txt", text)
    refused(run(tool("bathy-run"), exported / "bert.onnx", "--no-cache",
                f"--shape-trace={trace}"), fragment)


def test_the_runtime_alone_cannot_specialise(bucketed):
    refused(run(tool("bathy-run-runtime"), bucketed, "--specialize-after=2"),
            "needs the compiler")
    refused(run(tool("bathy-run"), bucketed, "--specialize-after=2"),
            "is a compile option")


# --------------------------------------------------------------------------
# The compile cache
# --------------------------------------------------------------------------

def cache_env(tmp_path, name="cache"):
    return {"BATHY_CACHE_DIR": str(tmp_path / name)}


def entries(env):
    d = Path(env["BATHY_CACHE_DIR"])
    return sorted(d.glob("*.bathy")) if d.exists() else []


def one_request(tmp_path, text="batch=2"):
    return write(tmp_path / "one.txt", text + "\n")


def test_a_second_process_compiles_nothing(tmp_path):
    env = cache_env(tmp_path)
    trace = one_request(tmp_path)
    first = trace_counts(ok(run(tool("bathy-run"), TINY, f"--shape-trace={trace}",
                                env=env)).stdout)
    assert (first["compiles"], first["foreground"], first["hits"]) == (1, 1, 0)
    assert len(entries(env)) == 1
    second = trace_counts(ok(run(tool("bathy-run"), TINY, f"--shape-trace={trace}",
                                 env=env)).stdout)
    assert (second["compiles"], second["foreground"], second["hits"]) == (0, 0, 1)
    # The cached model computes what the compiled one does.
    a = outputs(TINY, tmp_path / "a", "--dim=batch=3", env=env)
    b = outputs(TINY, tmp_path / "b", "--dim=batch=3", "--no-cache")
    np.testing.assert_array_equal(a["probs.npy"], b["probs.npy"])
    # Other options, other entries; --no-cache leaves the cache alone.
    ok(run(tool("bathy-run"), TINY, "--quiet", "--no-fusion", env=env))
    ok(run(tool("bathy-run"), TINY, "--quiet", env={**env, "BATHY_CHECK_BOUNDS": "1"}))
    ok(run(tool("bathy-run"), TINY, "--quiet", "--static-shapes", "--dim=batch=2", env=env))
    assert len(entries(env)) == 4
    ok(run(tool("bathy-run"), TINY, "--quiet", "--static-shapes", "--dim=batch=2", env=env))
    ok(run(tool("bathy-run"), TINY, "--quiet", "--no-cache", "--serial-loops", env=env))
    assert len(entries(env)) == 4


def test_specialisations_come_from_the_cache_too(exported, tmp_path):
    env = cache_env(tmp_path)
    trace = write(tmp_path / "t.txt", "batch=1 seq=8\nbatch=1 seq=8\nwait\nbatch=1 seq=8\n")
    args = (tool("bathy-run"), exported / "bert.onnx", f"--shape-trace={trace}",
            "--specialize-after=2")
    first = ok(run(*args, env=env)).stdout
    assert trace_counts(first)["compiles"] == 2
    second = ok(run(*args, env=env)).stdout
    assert "1 ready (1 from the cache)" in second, second
    c = trace_counts(second)
    assert (c["compiles"], c["hits"]) == (0, 2), second
    assert plan_requests(second) == {"generic": 2, "specialized": 1}


def test_processes_racing_on_one_key(tmp_path):
    env = cache_env(tmp_path)
    e = dict(os.environ, **env)
    procs = [subprocess.Popen([str(tool("bathy-run")), str(TINY), "--quiet",
                               "--dim=batch=2"], env=e, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        assert "output 'probs': f32 [2, 3]" in out
    assert len(entries(env)) == 1
    assert not list(Path(env["BATHY_CACHE_DIR"]).glob(".*tmp*"))
    v = ok(run(tool("bathy-cache"), "verify", env=env)).stdout
    assert "1 of 1 entries verified, 0 removed" in v
    c = trace_counts(ok(run(tool("bathy-run"), TINY,
                            f"--shape-trace={one_request(tmp_path)}", env=env)).stdout)
    assert c["hits"] == 1 and c["compiles"] == 0


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_a_damaged_entry_is_removed_and_rebuilt(tmp_path, damage):
    env = cache_env(tmp_path)
    want = outputs(TINY, tmp_path / "want", "--dim=batch=2", env=env)
    [entry] = entries(env)
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        data = data[:len(data) - 100]
    elif damage == "garbage":
        data = bytearray(b"not an artifact" * 10)
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))
    r = ok(run(tool("bathy-run"), TINY, f"--output-dir={tmp_path / 'got'}",
               "--dim=batch=2", env=env))
    assert f"note: the compile cache's entry {entry.stem} was damaged and is removed" in r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "got" / "probs.npy"),
                                  want["probs.npy"])
    # Rebuilt, and good.
    assert entries(env) == [entry]
    assert "1 of 1 entries verified" in ok(run(tool("bathy-cache"), "verify", env=env)).stdout
    c = trace_counts(ok(run(tool("bathy-run"), TINY,
                            f"--shape-trace={one_request(tmp_path)}", env=env)).stdout)
    assert c["hits"] == 1


def test_bathy_cache_commands(exported, tmp_path):
    env = cache_env(tmp_path)
    empty = ok(run(tool("bathy-cache"), "list", env=env)).stdout
    assert ": 0 entries, 0.0 MiB" in empty
    ok(run(tool("bathy-run"), TINY, "--quiet", env=env))
    ok(run(tool("bathy-run"), exported / "bert.onnx", "--quiet", env=env))
    listing = ok(run(tool("bathy-cache"), "list", env=env)).stdout
    assert "tiny_cnn.onnxtext, every shape" in listing
    assert "bert.onnx, every shape" in listing and ": 2 entries" in listing
    # Damage one: verify removes it and says which.
    tiny = [p for p in entries(env) if p.stat().st_size < 200000][0]
    tiny.write_bytes(tiny.read_bytes()[:4096])
    assert "damaged (bathy-cache verify removes it)" in \
        ok(run(tool("bathy-cache"), "list", env=env)).stdout
    v = ok(run(tool("bathy-cache"), "verify", env=env)).stdout
    assert f"removed {tiny.stem}" in v and "1 of 2 entries verified, 1 removed" in v
    # gc down to a size, then clear.
    ok(run(tool("bathy-run"), TINY, "--quiet", env=env))
    g = ok(run(tool("bathy-cache"), "gc", "--max=100K", env=env)).stdout
    assert "removed 1 entries" in g
    # The least recently used went: BERT's; the CNN's (used last) stays.
    assert entries(env) == [tiny]
    c = ok(run(tool("bathy-cache"), "clear", env=env)).stdout
    assert "removed 1 entries" in c and entries(env) == []
    refused(run(tool("bathy-cache"), "prune", env=env), "unknown command 'prune'")
    refused(run(tool("bathy-cache"), env=env), "no command")
    refused(run(tool("bathy-cache"), "gc", "--max=lots", env=env), "--max")
    assert "least recently used" in ok(run(tool("bathy-cache"), "--help")).stdout


def test_the_cap_is_kept(tmp_path):
    env = {**cache_env(tmp_path), "BATHY_CACHE_MAX": "1K"}
    ok(run(tool("bathy-run"), TINY, "--quiet", env=env))
    assert entries(env) == []
    # A cap that is not a size: the run goes on without the cache, and says so.
    r = ok(run(tool("bathy-run"), TINY, "--quiet", env={**env, "BATHY_CACHE_MAX": "big"}))
    assert "note: compiling without the cache: BATHY_CACHE_MAX" in r.stderr


def test_a_cache_others_can_write_is_not_used(tmp_path):
    env = cache_env(tmp_path)
    d = Path(env["BATHY_CACHE_DIR"])
    d.mkdir()
    d.chmod(0o777)
    r = ok(run(tool("bathy-run"), TINY, "--dim=batch=2", env=env))
    assert "writable by others" in r.stderr and "not used" in r.stderr
    assert entries(env) == []
    # A cache that is a file is refused the same way, and the run goes on.
    f = tmp_path / "file"
    f.write_text("x")
    r = ok(run(tool("bathy-run"), TINY, "--dim=batch=2", env={"BATHY_CACHE_DIR": str(f)}))
    assert "note: the compile cache keeps no copy" in r.stderr


def test_a_causal_model_padded_at_the_end(exported, tmp_path):
    """Llama (causal, no mask): position i reads positions <= i only, so a
    request padded at the end gives the generic plan's outputs; buckets
    specialise seq and leave batch dynamic."""
    art = tmp_path / "llama.bathy"
    ok(run(tool("bathyc"), exported / "llama.onnx", "-o", art, "--quiet",
           "--buckets=seq:16,64", "--pad=seq"))
    ids = np.random.RandomState(3).randint(0, 1000, (2, 37)).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    flag = f"--input=input_ids={tmp_path / 'ids.npy'}"
    want = outputs(exported / "llama.onnx", tmp_path / "jit", "--no-cache", flag)
    got = outputs(art, tmp_path / "padded", flag)
    assert got["logits.npy"].shape == (2, 37, 1000)
    np.testing.assert_allclose(got["logits.npy"], want["logits.npy"], rtol=1e-4, atol=1e-4)
    trace = write(tmp_path / "t.txt", "batch=2 seq=37\nbatch=3 seq=16\nbatch=1 seq=65\n")
    r = ok(run(tool("bathy-run-runtime"), art, f"--shape-trace={trace}"))
    assert plan_requests(r.stdout) == {"padded bucket": 1, "bucket": 1, "generic": 1}

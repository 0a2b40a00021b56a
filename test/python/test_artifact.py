"""Ahead-of-time compilation: bathyc, the .bathy artifact, bathy-run on it.

An artifact must give exactly the JIT's outputs for the same options, be
byte-identical across two compiles, and be refused -- exit code 1 and an
error naming the section or feature at fault, never a crash -- when any
byte of any section changes, when it is cut short, when its version or a
section is from elsewhere, or when it needs CPU features this machine lacks.
Issue #17. Models: the bundled CNN and the torch-exported BERT block and
MobileNetV2 (conftest's `exported` fixture).
"""
import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from onnx_node_tests import tool

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "tiny_cnn.onnxtext"


def run(*args, timeout=600):
    return subprocess.run([str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout)


def compile_model(model, out, *args):
    r = run(tool("bathyc"), model, "-o", out, "--quiet", *args)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def outputs(model, out_dir, *args):
    r = run(tool("bathy-run"), model, f"--output-dir={out_dir}", "--quiet",
            *args)
    assert r.returncode == 0, r.stderr[-3000:]
    return {p.name: np.load(p) for p in sorted(Path(out_dir).iterdir())}


def refused(path, *args):
    """bathy-run on `path` fails cleanly; returns its error message."""
    r = run(tool("bathy-run"), path, "--quiet", *args)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr[-2000:])
    assert r.stderr.startswith("error: "), r.stderr[-2000:]
    assert "Stack dump" not in r.stderr and "LLVM ERROR" not in r.stderr
    return r.stderr


def sections(path):
    """The section table: name -> (offset, bytes), from bathy-meta --json."""
    r = run(tool("bathy-meta"), path, "--json")
    assert r.returncode == 0, r.stderr
    meta = json.loads(r.stdout)
    return meta, {s["name"]: (s["offset"], s["bytes"]) for s in meta["sections"]}


@pytest.fixture(scope="module")
def models(exported):
    return {"tiny_cnn": TINY, "bert": exported / "bert.onnx",
            "mobilenet_v2": exported / "mobilenet_v2.onnx"}


@pytest.mark.parametrize("name", ["tiny_cnn", "bert", "mobilenet_v2"])
def test_artifact_outputs_equal_the_jits(name, models, tmp_path):
    """Same options (the host CPU), same bits; the portable x86-64-v3 code
    agrees with them to float rounding."""
    model = models[name]
    seed = ["--seed=7", "--dim=batch=2"] + (["--dim=seq=9"] if name == "bert" else [])
    jit = outputs(model, tmp_path / "jit", *seed)
    host = compile_model(model, tmp_path / "host.bathy", "--cpu=host")
    aot = outputs(host, tmp_path / "aot", *seed)
    assert jit.keys() == aot.keys()
    for k in jit:
        assert jit[k].dtype == aot[k].dtype and jit[k].shape == aot[k].shape, k
        assert jit[k].tobytes() == aot[k].tobytes(), f"{name}: {k} differs"
    v3 = compile_model(model, tmp_path / "v3.bathy")
    portable = outputs(v3, tmp_path / "v3", *seed)
    for k in jit:
        np.testing.assert_allclose(portable[k], jit[k], rtol=1e-4, atol=1e-5)


def runtime_only_run():
    """The runtime-only build's bathy-run (scripts/check-runtime-only.sh
    builds it in build-runtime/), else the full build's bathy-run-runtime:
    the same source, linking the runtime alone."""
    import os
    built = Path(os.environ.get("BATHY_RUNTIME_BUILD_DIR", ROOT / "build-runtime"))
    path = built / "bin" / "bathy-run"
    return path if path.is_file() else Path(tool("bathy-run-runtime"))


@pytest.mark.parametrize("name", ["tiny_cnn", "bert"])
def test_runtime_alone_runs_artifacts_like_the_jit(name, models, tmp_path):
    binary = runtime_only_run()
    libs = run("ldd", binary).stdout
    assert not any(k in libs for k in ("LLVM", "MLIR", "protobuf")), libs
    model = models[name]
    seed = ["--seed=3", "--dim=batch=3"] + (["--dim=seq=5"] if name == "bert" else [])
    jit = outputs(model, tmp_path / "jit", *seed)
    art = compile_model(model, tmp_path / "m.bathy", "--cpu=host")
    r = run(binary, art, f"--output-dir={tmp_path / 'rt'}", *seed)
    assert r.returncode == 0, r.stderr[-2000:]
    for k, v in jit.items():
        assert np.load(tmp_path / "rt" / k).tobytes() == v.tobytes(), k
    # It refuses what it cannot do, naming why.
    r = run(binary, model)
    assert r.returncode == 1 and ".bathy artifacts only" in r.stderr


@pytest.mark.parametrize("name", ["bert", "mobilenet_v2"])
def test_two_compiles_give_identical_bytes(name, models, tmp_path):
    a = compile_model(models[name], tmp_path / "a.bathy")
    b = compile_model(models[name], tmp_path / "b.bathy")
    assert a.read_bytes() == b.read_bytes()


def test_meta_shows_the_manifest(tmp_path):
    art = compile_model(TINY, tmp_path / "tiny.bathy")
    meta, table = sections(art)
    assert meta["format"] == "1.1" and meta["target"] == "cpu"
    assert meta["cpu"] == "x86-64-v3" and "avx2" in meta["cpu_features"]
    assert meta["inputs"][0]["name"] == "image"
    assert meta["inputs"][0]["dim_params"][0] == "batch"
    assert meta["model"]["file"] == "tiny_cnn.onnxtext"
    assert len(meta["model"]["sha256"]) == 64
    assert set(table) == {"manifest", "plans", "weights", "code"}
    assert all(off % 4096 == 0 for off, _ in table.values())
    # Every kernel names the ONNX nodes it computes.
    assert meta["kernels"] and all(k["nodes"] for k in meta["kernels"])
    text = run(tool("bathy-meta"), art)
    assert text.returncode == 0 and "input       image: f32[batch, 3, 16, 16]" in text.stdout
    ok = run(tool("bathy-meta"), "validate", art)
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_every_section_byte_flip_is_refused(tmp_path):
    art = compile_model(TINY, tmp_path / "tiny.bathy")
    data = art.read_bytes()
    _, table = sections(art)
    bad = tmp_path / "bad.bathy"
    for name, (offset, size) in table.items():
        for at in sorted({offset, offset + size // 3, offset + size - 1}):
            flipped = bytearray(data)
            flipped[at] ^= 0x10
            bad.write_bytes(flipped)
            message = refused(bad)
            assert name in message, (name, at, message)
            v = run(tool("bathy-meta"), "validate", bad)
            assert v.returncode == 1 and name in v.stderr


def test_truncations_and_version_are_refused(tmp_path):
    art = compile_model(TINY, tmp_path / "tiny.bathy")
    data = art.read_bytes()
    bad = tmp_path / "bad.bathy"
    for size in [0, 7, 63, 64, 100, 4096, len(data) // 2, len(data) - 1]:
        bad.write_bytes(data[:size])
        refused(bad)
    newer = bytearray(data)
    newer[8:12] = struct.pack("<I", 2)
    bad.write_bytes(newer)
    assert "format version 2.1" in refused(bad)
    bad.write_bytes(b"not an artifact" * 10)
    assert "not a bathy artifact" in refused(bad)


def test_a_section_from_another_artifact_is_refused(tmp_path):
    """Two compiles of the same model with different weights: swapping the
    weights (or the manifest) between them fails a checksum."""
    a = compile_model(TINY, tmp_path / "a.bathy")
    text = TINY.read_text()
    # The same graph with other weights: one initializer value changed.
    (tmp_path / "other").mkdir()
    other = tmp_path / "other" / TINY.name  # same name: same manifest size
    marker = text.index("{", text.index("<")) + 1
    other.write_text(text[:marker] + "0.5, " + text[marker:].split(",", 1)[1])
    b = compile_model(other, tmp_path / "b.bathy")
    da, db = a.read_bytes(), b.read_bytes()
    _, ta = sections(a)
    _, tb = sections(b)
    assert ta == tb, "the two compiles should have the same layout"
    for name in ("manifest", "weights"):
        off, size = ta[name]
        mixed = bytearray(da)
        mixed[off:off + size] = db[off:off + size]
        if bytes(mixed) == da:
            continue
        (tmp_path / "mixed.bathy").write_bytes(mixed)
        message = refused(tmp_path / "mixed.bathy")
        assert "checksum" in message and name in message, message


def test_code_for_missing_cpu_features_is_refused(tmp_path):
    """x86-64-v4 code needs AVX-512: refused where the CPU lacks it (naming
    the feature), run where it has it. The test says which path it took."""
    art = compile_model(TINY, tmp_path / "v4.bathy", "--cpu=x86-64-v4")
    flags = Path("/proc/cpuinfo").read_text().split()
    if "avx512f" in flags:
        print("this CPU has AVX-512: the x86-64-v4 artifact must run")
        outputs(art, tmp_path / "out")
    else:
        print("this CPU lacks AVX-512: the x86-64-v4 artifact must be refused")
        message = refused(art)
        assert "avx512" in message and "lacks" in message, message
        v = run(tool("bathy-meta"), "validate", art)
        assert v.returncode == 1 and "avx512" in v.stderr


def test_compile_options_are_refused_for_an_artifact(tmp_path):
    art = compile_model(TINY, tmp_path / "tiny.bathy")
    assert "compile option" in refused(art, "--no-fusion")
    assert "compile option" in refused(art, "--static-shapes")


def test_run_time_checks_hold_for_artifacts(tmp_path):
    """What the JIT checks at run time, the artifact checks too: a wrong
    input shape and a memory limit too small for the run."""
    art = compile_model(TINY, tmp_path / "tiny.bathy")
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 8, 8), np.float32))
    message = refused(art, f"--input=image={tmp_path / 'x.npy'}")
    assert "image" in message
    assert "memory" in refused(art, "--dim=batch=4096", "--max-memory=1M")


def test_bathyc_static_shapes_and_errors(tmp_path):
    art = compile_model(TINY, tmp_path / "b4.bathy", "--static-shapes",
                        "--dim=batch=4")
    meta, _ = sections(art)
    assert meta["inputs"][0]["shape"][0] == 4
    out = outputs(art, tmp_path / "out")
    assert next(iter(out.values())).shape[0] == 4
    r = run(tool("bathyc"), TINY, "-o", tmp_path / "x.bathy", "--cpu=pentium9000")
    assert r.returncode == 1 and "pentium9000" in r.stderr
    r = run(tool("bathyc"), TINY)
    assert r.returncode == 1 and "-o" in r.stderr
    r = run(tool("bathyc"), TINY, "--compile-to=kernels")
    assert r.returncode == 0 and "bathy.launch" in r.stdout


def test_signed_artifacts_and_trusted_keys(tmp_path):
    """bathyc --sign-key signs (Ed25519); bathy-run --trusted-key runs only
    what that key signed: an unsigned artifact, one signed by another key
    and one whose signature was changed are refused, naming why."""
    keys = {}
    for name in ("a", "b"):
        priv, pub = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub"
        assert run("openssl", "genpkey", "-algorithm", "ed25519", "-out", priv).returncode == 0
        assert run("openssl", "pkey", "-in", priv, "-pubout", "-out", pub).returncode == 0
        keys[name] = (priv, pub)
    signed = compile_model(TINY, tmp_path / "signed.bathy", f"--sign-key={keys['a'][0]}")
    again = compile_model(TINY, tmp_path / "again.bathy", f"--sign-key={keys['a'][0]}")
    assert signed.read_bytes() == again.read_bytes()  # Ed25519 is deterministic
    unsigned = compile_model(TINY, tmp_path / "unsigned.bathy")
    meta, table = sections(signed)
    assert meta["signed"] is True and "signature" in table
    assert sections(unsigned)[0]["signed"] is False
    for binary in (tool("bathy-run"), runtime_only_run()):
        ok = run(binary, signed, f"--trusted-key={keys['a'][1]}", "--quiet")
        assert ok.returncode == 0, ok.stderr
        other = run(binary, signed, f"--trusted-key={keys['b'][1]}")
        assert other.returncode == 1 and "does not verify" in other.stderr
        bare = run(binary, unsigned, f"--trusted-key={keys['a'][1]}")
        assert bare.returncode == 1 and "is not signed" in bare.stderr
        wrong = run(binary, signed, f"--trusted-key={keys['a'][0]}")
        assert wrong.returncode == 1 and "not a PEM Ed25519 public key" in wrong.stderr
    offset, _ = table["signature"]
    data = bytearray(signed.read_bytes())
    data[offset + 5] ^= 1
    (tmp_path / "tampered.bathy").write_bytes(data)
    assert "does not verify" in refused(tmp_path / "tampered.bathy",
                                        f"--trusted-key={keys['a'][1]}")
    # Without a trusted key a signed artifact runs like any other.
    outputs(signed, tmp_path / "out")
    r = run(tool("bathyc"), TINY, "-o", tmp_path / "x.bathy", f"--sign-key={keys['a'][1]}")
    assert r.returncode == 1 and "not a PEM Ed25519 private key" in r.stderr
    r = run(tool("bathy-run"), TINY, f"--trusted-key={keys['a'][1]}")
    assert r.returncode == 1 and "applies to .bathy artifacts" in r.stderr


def test_artifact_paths_must_be_regular_files(tmp_path):
    """An artifact path that is a folder or a FIFO is refused at once (a
    FIFO must not block the loader), as model files are."""
    import os
    folder = tmp_path / "folder.bathy"
    folder.mkdir()
    assert "regular file" in refused(folder)
    fifo = tmp_path / "fifo.bathy"
    os.mkfifo(fifo)
    r = run(tool("bathy-run"), fifo, "--quiet", timeout=30)
    assert r.returncode == 1 and "regular file" in r.stderr, r.stderr
    v = run(tool("bathy-meta"), "validate", fifo, timeout=30)
    assert v.returncode == 1 and "regular file" in v.stderr

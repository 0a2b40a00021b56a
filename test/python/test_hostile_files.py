"""Hostile files: external data that leaves the model's folder, outputs
that are symlinks, and paths that are not regular files. Each is refused
with an error naming the file (or, for outputs, the link is replaced and
never written through); nothing blocks or reads without end. Issue #15,
items 6-8."""
import os
import subprocess
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_node_tests import tool

WEIGHTS = np.arange(12, dtype=np.float32).reshape(3, 4)


def external_model(location, offset=None):
    """y = x + w, w (3x4 f32) stored as external data at `location`."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])
    w = numpy_helper.from_array(WEIGHTS, "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    entries = [("location", location), ("length", str(WEIGHTS.nbytes))]
    if offset is not None:
        entries.append(("offset", str(offset)))
    for k, v in entries:
        e = w.external_data.add()
        e.key, e.value = k, v
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add_w")
    graph = helper.make_graph([node], "g", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model_path, *args, timeout=60):
    return subprocess.run([tool("bathy-run"), str(model_path), *args],
                          capture_output=True, text=True, timeout=timeout)


def expect_error(result, *needles):
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    for n in needles:
        assert n in result.stderr, result.stderr


def test_external_data_inside_the_folder_is_read(tmp_path):
    (tmp_path / "w.bin").write_bytes(WEIGHTS.tobytes())
    onnx.save(external_model("w.bin"), tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", np.ones((3, 4), np.float32))
    out = tmp_path / "out"
    r = run(tmp_path / "m.onnx", f"--input=x={tmp_path / 'x.npy'}", f"--output-dir={out}")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(out / "y.npy"), WEIGHTS + 1)


def test_external_data_through_a_symlink_out_of_the_folder(tmp_path):
    secret = tmp_path / "secret.bin"  # outside the model folder
    secret.write_bytes(b"S" * WEIGHTS.nbytes)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    os.symlink(secret, model_dir / "w.bin")
    onnx.save(external_model("w.bin"), model_dir / "m.onnx")
    expect_error(run(model_dir / "m.onnx"), "tensor 'w'", "w.bin",
                 "resolves outside the folder")


def test_external_data_through_a_symlinked_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "w.bin").write_bytes(WEIGHTS.tobytes())
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    os.symlink(elsewhere, model_dir / "data")
    onnx.save(external_model("data/w.bin"), model_dir / "m.onnx")
    expect_error(run(model_dir / "m.onnx"), "resolves outside the folder")


def test_external_data_to_etc_passwd(tmp_path):
    os.symlink("/etc/passwd", tmp_path / "w.bin")
    onnx.save(external_model("w.bin"), tmp_path / "m.onnx")
    r = run(tmp_path / "m.onnx")
    expect_error(r, "resolves outside the folder")
    assert "root:" not in r.stdout + r.stderr


@pytest.mark.parametrize("location", ["../w.bin", "/etc/passwd", "a/../../w.bin"])
def test_external_data_paths_that_leave(tmp_path, location):
    onnx.save(external_model(location), tmp_path / "m.onnx")
    expect_error(run(tmp_path / "m.onnx"), "must be a relative path inside the model's folder")


def test_external_data_fifo_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "w.bin")
    onnx.save(external_model("w.bin"), tmp_path / "m.onnx")
    expect_error(run(tmp_path / "m.onnx", timeout=30), "is a FIFO, not a regular file")


def test_external_data_directory(tmp_path):
    (tmp_path / "w.bin").mkdir()
    onnx.save(external_model("w.bin"), tmp_path / "m.onnx")
    expect_error(run(tmp_path / "m.onnx"), "is a directory, not a regular file")


def test_external_data_beyond_the_memory_limit(tmp_path):
    """A 64 GiB tensor is refused before anything is allocated."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 34])
    w.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "w.bin")]:
        e = w.external_data.add()
        e.key, e.value = k, v
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              tmp_path / "m.onnx")
    expect_error(run(tmp_path / "m.onnx", "--max-memory=1G"), "tensor 'w' needs 64.0 GiB",
                 "more than the limit of 1.0 GiB")


def bundled():
    return os.path.join(os.path.dirname(__file__), "..", "..", "models", "tiny_cnn.onnxtext")


def test_output_symlink_is_replaced_not_followed(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / "probs.npy")
    r = run(bundled(), f"--output-dir={out}")
    assert r.returncode == 0, r.stderr
    assert target.read_text() == "keep me"
    assert not os.path.islink(out / "probs.npy")
    assert np.load(out / "probs.npy").shape[0] == 1


def test_input_fifo_and_devices_are_refused(tmp_path):
    fifo = tmp_path / "in.npy"
    os.mkfifo(fifo)
    expect_error(run(bundled(), f"--input=image={fifo}", timeout=30), "is a FIFO")
    expect_error(run(bundled(), "--input=image=/dev/zero", timeout=30),
                 "'/dev/zero' is a character device, not a regular file")
    expect_error(run(bundled(), f"--input=image={tmp_path}", timeout=30), "is a directory")


def test_model_fifo_is_refused(tmp_path):
    fifo = tmp_path / "m.onnx"
    os.mkfifo(fifo)
    # Keep a writer around so that a blocking open would hang, not fail.
    opened = threading.Event()

    def writer():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            opened.set()
            os.close(fd)
        except OSError:
            pass
    threading.Thread(target=writer, daemon=True).start()
    expect_error(run(fifo, timeout=30), "is a FIFO, not a regular file")


def test_truncated_npy_input(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((1, 3, 16, 16), np.float32))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:-10])
    expect_error(run(bundled(), f"--input=image={tmp_path / 'x.npy'}"), "x.npy")

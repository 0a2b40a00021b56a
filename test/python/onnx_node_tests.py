"""Finds ONNX's node conformance tests (shipped by the onnx==1.22.0 wheel)."""
import os
from pathlib import Path

import onnx


def node_test_root() -> Path:
    root = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
    if not root.is_dir():
        raise RuntimeError(
            f"{root} is missing: the node tests ship with onnx==1.22.0 "
            "(newer wheels dropped them); run scripts/setup.sh")
    return root


def node_tests():
    """Yields (name, directory) for every node test, sorted by name."""
    root = node_test_root()
    for d in sorted(root.iterdir()):
        if (d / "model.onnx").is_file():
            yield d.name, d


def tool(name: str) -> str:
    build = os.environ.get("BATHY_BUILD_DIR",
                           str(Path(__file__).resolve().parents[2] / "build"))
    path = Path(build) / "bin" / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: build bathy first")
    return str(path)

"""Replays inputs the importer's fuzzer once crashed on (test/fuzz/regressions)
as binary and as text models: each must now end with exit code 0 or 1."""
import shutil
import subprocess
from pathlib import Path

import pytest

from onnx_node_tests import tool

ALL = sorted((Path(__file__).resolve().parents[1] / "fuzz" / "regressions").iterdir())
REGRESSIONS = [p for p in ALL if p.suffix != ".bathy"]
ARTIFACTS = [p for p in ALL if p.suffix == ".bathy"]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
@pytest.mark.parametrize("suffix", [".onnx", ".onnxtext"])
def test_no_crash(tmp_path, case, suffix):
    path = tmp_path / ("input" + suffix)
    shutil.copy(case, path)
    result = subprocess.run([tool("bathy-import"), str(path), "-o", "/dev/null"],
                            capture_output=True, text=True, errors="replace", timeout=60)
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])


@pytest.mark.parametrize("case", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_artifact_regressions_are_refused_cleanly(case):
    """Artifacts the loader's fuzzer once crashed on (or found undefined
    behaviour with): validating or running them ends with exit code 0 or 1.
    The runtime's unit tests replay them under ASan/UBSan too."""
    for cmd in ([tool("bathy-meta"), "validate", str(case)],
                [tool("bathy-run"), str(case), "--quiet"]):
        result = subprocess.run(cmd, capture_output=True, text=True,
                                errors="replace", timeout=60)
        assert result.returncode in (0, 1), (cmd, result.returncode, result.stderr[-2000:])

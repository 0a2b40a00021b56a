"""Shared fixtures: the torch-exported model suite, built once per session."""
import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPORTER = ROOT / "test" / "models" / "export_torch.py"
SYSTEM_PYTHON = "/usr/bin/python3"

# bathy-run's compile cache: one for this test session, not the user's
# (tests that look at the cache itself give each run its own directory).
if "BATHY_CACHE_DIR" not in os.environ:
    os.environ["BATHY_CACHE_DIR"] = tempfile.mkdtemp(prefix="bathy-cache-")
    atexit.register(shutil.rmtree, os.environ["BATHY_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("torch_models")
    result = subprocess.run([SYSTEM_PYTHON, str(EXPORTER), str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        "exporting the torch models failed (scripts/setup.sh installs "
        f"python3-torch):\n{result.stderr[-3000:]}")
    return out

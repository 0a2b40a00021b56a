"""Imports every ONNX node conformance test whose ops bathy supports.

A test is in scope when bathy has a handler for each of its ops at the
model's opset (bathy-import does not answer "cannot import" or "opset"). Every
in-scope test must import, or be listed in import_expected_failures.txt with
a reason; a listed test that imports fails this test, so the list stays true.
"""
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onnx_node_tests import node_tests, tool

HERE = Path(__file__).parent


def load_expected_failures(path):
    expected = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        assert reason.strip(), f"{name.strip()}: every entry needs a reason"
        expected[name.strip()] = reason.strip()
    return expected


def classify(item):
    name, directory = item
    result = subprocess.run(
        [tool("bathy-import"), str(directory / "model.onnx"), "-o", "/dev/null"],
        capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        return name, "imported", ""
    out = result.stderr
    if "cannot import:" in out or "bathy supports opsets up to" in out:
        return name, "out of scope", out
    return name, "failed", out


def test_node_tests_import():
    expected = load_expected_failures(HERE / "import_expected_failures.txt")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(classify, node_tests()))
    in_scope = [r for r in results if r[1] != "out of scope"]
    imported = [r for r in in_scope if r[1] == "imported"]
    failed = [r for r in in_scope if r[1] == "failed"]
    unexpected = [r for r in failed if r[0] not in expected]
    now_passing = [r[0] for r in imported if r[0] in expected]
    print(f"\nnode tests: {len(results)} total, {len(in_scope)} in scope, "
          f"{len(imported)} import, {len(failed)} fail "
          f"({len(failed) - len(unexpected)} expected)")
    for name, _, out in unexpected:
        print(f"UNEXPECTED FAILURE {name}: {out.strip().splitlines()[0]}")
    for name in now_passing:
        print(f"NOW IMPORTS (remove from the list): {name}")
    # Crashes are never acceptable, in scope or not.
    crashed = [r[0] for r in results if "Stack dump" in r[2] or "Aborted" in r[2]]
    assert not crashed, f"importer crashed on: {crashed}"
    assert not unexpected, f"{len(unexpected)} in-scope node tests fail to import"
    assert not now_passing, f"listed as failing but import: {now_passing}"

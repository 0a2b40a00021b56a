#!/usr/bin/env bash
# Sets up, builds and runs every bathy test: the runtime-only build check,
# the C++ unit tests (ctest), the lit/FileCheck suite, the Python suites and
# a smoke test of the benchmark harness. Ends with one line
# "bathy tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
export PATH="$PWD/.venv/bin:$PATH"
bash scripts/build.sh || { echo "test: build failed" >&2; exit 1; }

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== runtime-only build (no LLVM/MLIR) =="
if bash scripts/check-runtime-only.sh > "$log" 2>&1; then
  tail -n 3 "$log"; passed=$((passed + 1))
else
  cat "$log"; failed=$((failed + 1))
fi

echo "== C++ unit tests (ctest) =="
(cd build && ctest --output-on-failure -j "$(nproc)") > "$log" 2>&1
cat "$log" | grep -vE '^ *([0-9]+/[0-9]+ Test|Start )' || true
if line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log"); then
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  bad=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
  passed=$((passed + total - bad)); failed=$((failed + bad))
else
  failed=$((failed + 1))
fi

echo "== lit tests =="
lit -sv build/test > "$log" 2>&1
lit_rc=$?
grep -vE '^(PASS|XFAIL|UNSUPPORTED):' "$log" | tail -n 40
p=$(grep -Eo 'Passed *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
f=$(grep -Eo '(Failed|Unresolved|Timed Out) *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
passed=$((passed + p)); failed=$((failed + ${f:-0}))
if [ "$lit_rc" != 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); fi

echo "== Python tests (pytest: importer sweeps, torch models, bad input) =="
BATHY_BUILD_DIR="$PWD/build" .venv/bin/python -m pytest -q -s -p no:cacheprovider test/python > "$log" 2>&1
py_rc=$?
tail -n 25 "$log"
summary=$(tail -n 1 "$log")
p=$(echo "$summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
f=$(echo "$summary" | grep -Eo '[0-9]+ (failed|error|errors)' | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
if [ "$py_rc" != 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); fi

echo "== benchmark harness smoke test (bench/run --quick) =="
if bench/run --quick > "$log" 2>&1 && tail -n 1 "$log" | grep -qE '^bench: tiny_cnn bathy/onnxruntime = [0-9.]+$'; then
  tail -n 1 "$log"; passed=$((passed + 1))
else
  tail -n 20 "$log"; failed=$((failed + 1))
fi

echo "bathy tests: $passed passed, $failed failed"
[ "$failed" = 0 ]

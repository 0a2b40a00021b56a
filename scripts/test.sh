#!/usr/bin/env bash
# Sets up, builds and runs every bathy test: the runtime-only build check,
# the C++ unit tests (ctest), the lit/FileCheck suite, the Python suites, the
# conformance, hostile-input and property tests again with bounds-checked
# kernels, the sanitizer run (scripts/sanitize.sh: ASan + UBSan build) and a
# smoke test of the benchmark harness. Ends with one line
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

# Counts a pytest summary line ("N passed, M failed") into the totals.
count_pytest() {
  local rc=$1 summary p f
  summary=$(tail -n 1 "$log")
  p=$(echo "$summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
  f=$(echo "$summary" | grep -Eo '[0-9]+ (failed|error|errors)' | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" != 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); fi
}

echo "== bounds-checked kernels (BATHY_CHECK_BOUNDS=1: every access generated code makes is checked) =="
BATHY_CHECK_BOUNDS=1 BATHY_BUILD_DIR="$PWD/build" .venv/bin/python -m pytest -q -s -p no:cacheprovider \
  test/python/test_node_conformance.py::test_node_conformance test/python/test_hostile_inputs.py \
  "test/python/test_property.py::test_random_and_adversarial_inputs" \
  "test/python/test_e2e_cpu.py::test_bundled_cnn" "test/python/test_e2e_cpu.py::test_text_models" \
  "test/python/test_e2e_cpu.py::test_ordinary_ops_compile_and_match" > "$log" 2>&1
rc=$?
grep -E "node conformance:|UNEXPECTED|FAILED" "$log" | head -n 20
tail -n 1 "$log"
count_pytest "$rc"

echo "== sanitizers (ASan + UBSan build of bathy: runtime unit tests, end-to-end tests) =="
bash scripts/sanitize.sh > "$log" 2>&1
grep -E "^==|sanitizers:|passed|failed|ERROR|runtime error" "$log" | tail -n 20
# The runtime's and the server's unit tests by GoogleTest's count, the pytest run by its summary.
for gl in build-asan/runtime-tests.log build-asan/serve-tests.log; do
  ok=$(grep -Eo 'PASSED +\] [0-9]+' "$gl" 2>/dev/null | grep -Eo '[0-9]+$' || echo 0)
  bad=$(grep -Eo 'FAILED +\] [0-9]+' "$gl" 2>/dev/null | grep -Eo '[0-9]+$' || echo 0)
  passed=$((passed + ${ok:-0})); failed=$((failed + ${bad:-0}))
  if [ "${ok:-0}" = 0 ] && [ "${bad:-0}" = 0 ]; then failed=$((failed + 1)); fi
done
cp build-asan/pytest.log "$log" 2>/dev/null || echo "no pytest summary" > "$log"
if tail -n 1 "$log" | grep -qE '[0-9]+ passed' && ! tail -n 1 "$log" | grep -qE '[0-9]+ (failed|error)'; then
  count_pytest 0
else
  count_pytest 1
fi

echo "== benchmark harness smoke test (bench/run --quick) =="
if bench/run --quick > "$log" 2>&1 && tail -n 1 "$log" | grep -qE '^bench: tiny_cnn bathy/onnxruntime = [0-9.]+$'; then
  tail -n 1 "$log"; passed=$((passed + 1))
else
  tail -n 20 "$log"; failed=$((failed + 1))
fi

echo "bathy tests: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# Builds the importer's libFuzzer target with clang and runs it.
# Usage: scripts/fuzz.sh [seconds]   (default 300)
# Seeds: the bundled model, the lit fixtures and generated binary models;
# crashing inputs land in test/fuzz/crashes/ and belong in the regression
# corpus (test/fuzz/regressions/, replayed by the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
if ! command -v clang++-14 > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev
fi
DIR=build-fuzz
cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DBATHY_BUILD_FUZZERS=ON -DBATHY_BUILD_TESTS=OFF > /dev/null
ninja -C "$DIR" bathy-import-fuzzer
corpus=$(mktemp -d)
cp models/*.onnxtext test/Importer/*.onnxtext test/Importer/errors/*.onnxtext "$corpus"/
.venv/bin/python test/fuzz/make_seeds.py "$corpus"
mkdir -p test/fuzz/crashes
ASAN_OPTIONS=detect_leaks=0 "$DIR/bin/bathy-import-fuzzer" "$corpus" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=4096 \
  -max_len=65536 -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1

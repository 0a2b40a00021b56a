#!/usr/bin/env bash
# Builds a libFuzzer target with clang and AddressSanitizer and runs it.
# Usage: scripts/fuzz.sh [seconds] [importer|artifact]   (default 300, importer)
#   importer: the ONNX importer; seeds are the bundled model, the lit
#             fixtures and generated binary models.
#   artifact: the .bathy loader (a runtime-only build); seeds are artifacts
#             bathyc writes from the bundled model (needs build/ for bathyc).
# Crashing inputs land in test/fuzz/crashes/ and belong in the regression
# corpus (test/fuzz/regressions/, replayed by the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
TARGET=${2:-importer}
if ! command -v clang++-14 > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev
fi
corpus=$(mktemp -d)
mkdir -p test/fuzz/crashes
case "$TARGET" in
importer)
  DIR=build-fuzz
  cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DBATHY_BUILD_FUZZERS=ON -DBATHY_BUILD_TESTS=OFF > /dev/null
  ninja -C "$DIR" bathy-import-fuzzer
  cp models/*.onnxtext test/Importer/*.onnxtext test/Importer/errors/*.onnxtext "$corpus"/
  .venv/bin/python test/fuzz/make_seeds.py "$corpus"
  FUZZER="$DIR/bin/bathy-import-fuzzer"
  MAX_LEN=65536
  ;;
artifact)
  DIR=build-fuzz-runtime
  cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DBATHY_BUILD_COMPILER=OFF -DBATHY_BUILD_FUZZERS=ON \
    -DBATHY_BUILD_TESTS=OFF > /dev/null
  ninja -C "$DIR" bathy-artifact-fuzzer
  build/bin/bathyc models/tiny_cnn.onnxtext -o "$corpus/tiny.bathy" --quiet > /dev/null
  build/bin/bathyc models/tiny_cnn.onnxtext -o "$corpus/tiny-nofusion.bathy" --no-fusion --quiet > /dev/null
  build/bin/bathyc models/tiny_cnn.onnxtext -o "$corpus/tiny-b2.bathy" --static-shapes --dim=batch=2 --quiet > /dev/null
  build/bin/bathyc models/tiny_cnn.onnxtext -o "$corpus/tiny-buckets.bathy" --buckets=batch:1,2 --pad=batch --quiet > /dev/null
  cp test/fuzz/regressions/*.bathy "$corpus"/ 2>/dev/null || true
  FUZZER="$DIR/bin/bathy-artifact-fuzzer"
  MAX_LEN=65536
  ;;
*)
  echo "fuzz.sh: unknown target '$TARGET' (importer or artifact)" >&2
  exit 1
  ;;
esac
ASAN_OPTIONS=detect_leaks=0 "$FUZZER" "$corpus" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=4096 \
  -max_len="$MAX_LEN" -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1

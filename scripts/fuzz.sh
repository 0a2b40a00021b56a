#!/usr/bin/env bash
# Builds a libFuzzer target with clang and AddressSanitizer and runs it.
# Usage: scripts/fuzz.sh [seconds] [importer|artifact|request]   (default 300, importer)
#   importer: the ONNX importer; seeds are the bundled model, the lit
#             fixtures and generated binary models.
#   artifact: the .bathy loader (a runtime-only build); seeds are artifacts
#             bathyc writes from the bundled model (needs build/ for bathyc).
#   request:  bathy-serve's request decoding (JSON body + binary tensor
#             extension); seeds are written here.
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
request)
  DIR=build-fuzz-runtime
  cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DBATHY_BUILD_COMPILER=OFF -DBATHY_BUILD_FUZZERS=ON \
    -DBATHY_BUILD_TESTS=OFF > /dev/null
  ninja -C "$DIR" bathy-serve-request-fuzzer
  .venv/bin/python - "$corpus" <<'PY'
import json, struct, sys
from pathlib import Path
d = Path(sys.argv[1])
none = struct.pack("<I", 0xffffffff)
x = {"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5.5, -6e3]]}
ids = {"name": "ids", "datatype": "INT64", "shape": [2, 2], "data": [1, -2, 3, 9007199254740993]}
mask = {"name": "mask", "datatype": "BOOL", "shape": [2], "data": [True, False]}
h = {"name": "h", "datatype": "FP16", "shape": [2], "data": [0.5, 65504]}
u = {"name": "u", "datatype": "UINT8", "shape": [3], "data": [0, 128, 255]}
req = {"id": "1", "parameters": {"priority": 1, "timeout": 10, "binary_data_output": True},
       "inputs": [x, ids, mask, h, u], "outputs": [{"name": "x", "parameters": {"binary_data": False}}]}
(d / "json").write_bytes(none + json.dumps(req).encode())
binx = dict(x); del binx["data"]; binx["parameters"] = {"binary_data_size": 24}
head = json.dumps({"inputs": [binx, ids, mask, h, u]}).encode()
(d / "binary").write_bytes(struct.pack("<I", len(head)) + head + bytes(range(24)))
PY
  FUZZER="$DIR/bin/bathy-serve-request-fuzzer"
  MAX_LEN=16384
  ;;
*)
  echo "fuzz.sh: unknown target '$TARGET' (importer, artifact or request)" >&2
  exit 1
  ;;
esac
ASAN_OPTIONS=detect_leaks=0 "$FUZZER" "$corpus" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=4096 \
  -max_len="$MAX_LEN" -artifact_prefix=test/fuzz/crashes/ -print_final_stats=1

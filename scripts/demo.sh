#!/usr/bin/env bash
# Sets up, builds and runs bathy's main job on the bundled model: import the
# ONNX model, check op coverage, and run the graph passes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
MODEL=${1:-models/tiny_cnn.onnxtext}
echo "== $MODEL: op coverage =="
build/bin/bathy-import --check "$MODEL"
echo "== $MODEL: imported, shapes inferred, folded =="
build/bin/bathy-import "$MODEL" | build/bin/bathy-opt --bathy-graph-infer-shapes --canonicalize

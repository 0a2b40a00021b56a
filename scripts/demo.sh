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
echo "== $MODEL: imported, one kernel per op =="
build/bin/bathy-import --print-locations=false "$MODEL" | build/bin/bathy-opt --bathy-kernel-pipeline
echo "== $MODEL: compiled for the CPU and run on random inputs (batch 2) =="
OUT=${BATHY_DEMO_OUT:-build/demo-out}
build/bin/bathy-run "$MODEL" --dim=batch=2 --output-dir="$OUT" --benchmark=10
echo "outputs written to $OUT/"

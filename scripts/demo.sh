#!/usr/bin/env bash
# Sets up, builds and runs bathy's main job on the bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
MODEL=${1:-models/mlp.mlir}
echo "== $MODEL: shape inference and folding =="
build/bin/bathy-opt "$MODEL" --bathy-graph-infer-shapes --canonicalize

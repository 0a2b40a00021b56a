#!/usr/bin/env bash
# Sets up, builds and runs bathy's main job on the bundled model: check op
# coverage, compile it ahead of time with bathyc into a .bathy artifact,
# validate the artifact, and run it with the runtime-only bathy-run (a
# build without LLVM or MLIR, build-runtime/), checking it against the JIT.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
MODEL=${1:-models/tiny_cnn.onnxtext}
OUT=${BATHY_DEMO_OUT:-build/demo-out}
mkdir -p "$OUT"
echo "== $MODEL: op coverage =="
build/bin/bathy-import --check "$MODEL"
echo "== $MODEL: compiled ahead of time (bathyc) =="
build/bin/bathyc "$MODEL" -o "$OUT/model.bathy"
echo "== the artifact: manifest, then validated =="
build/bin/bathy-meta "$OUT/model.bathy"
build/bin/bathy-meta validate "$OUT/model.bathy"
echo "== the runtime alone (no LLVM/MLIR) runs it on random inputs (batch 2) =="
cmake -G Ninja -S . -B build-runtime -DCMAKE_BUILD_TYPE=Release \
  -DBATHY_BUILD_COMPILER=OFF -DBATHY_BUILD_TESTS=OFF > /dev/null
ninja -C build-runtime bathy-run > /dev/null
build-runtime/bin/bathy-run "$OUT/model.bathy" --dim=batch=2 --seed=1 \
  --output-dir="$OUT/aot" --benchmark=10
echo "== the same model compiled in process (JIT) gives the same outputs =="
build/bin/bathy-run "$MODEL" --dim=batch=2 --seed=1 --output-dir="$OUT/jit" \
  --quiet > /dev/null
.venv/bin/python - "$OUT" <<'PY'
import sys, pathlib, numpy as np
out = pathlib.Path(sys.argv[1])
for f in sorted((out / "jit").glob("*.npy")):
    a, b = np.load(f), np.load(out / "aot" / f.name)
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    print(f"{f.name}: artifact and JIT agree (max difference {abs(a - b).max():.1e})")
PY
echo "outputs written to $OUT/aot/"

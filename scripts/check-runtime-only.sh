#!/usr/bin/env bash
# Builds the runtime alone (-DBATHY_BUILD_COMPILER=OFF) and proves that no
# LLVM or MLIR is on its include or link path, then runs its unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BATHY_RUNTIME_BUILD_DIR:-build-runtime}
# Tests on, explicitly: demo.sh configures the same folder without them.
cmake -G Ninja -S . -B "$DIR" -DCMAKE_BUILD_TYPE=Release -DBATHY_BUILD_COMPILER=OFF \
  -DBATHY_BUILD_TESTS=ON > /dev/null
ninja -C "$DIR" -j "$(nproc)" > /dev/null
if grep -Eiq -- '-I[^ ]*(llvm|mlir)|isystem [^ ]*(llvm|mlir)' "$DIR/compile_commands.json"; then
  echo "runtime-only build: LLVM/MLIR found on the include path:" >&2
  grep -Eio -- '-I[^ ]*(llvm|mlir)[^ ]*|isystem [^ ]*(llvm|mlir)[^ ]*' "$DIR/compile_commands.json" | sort -u >&2
  exit 1
fi
if grep -Eiq 'libLLVM|libMLIR|llvm-22' "$DIR/build.ninja"; then
  echo "runtime-only build: LLVM/MLIR found on the link line" >&2
  exit 1
fi
for bin in bathy_runtime_tests bathy-run bathy-meta; do
  if ldd "$DIR/bin/$bin" | grep -Eiq 'LLVM|MLIR|protobuf'; then
    echo "runtime-only build: $bin loads LLVM, MLIR or protobuf" >&2
    exit 1
  fi
done
# The server speaks gRPC, whose messages are protobuf; LLVM and MLIR it
# must not load.
if ldd "$DIR/bin/bathy-serve" | grep -Eiq 'LLVM|MLIR'; then
  echo "runtime-only build: bathy-serve loads LLVM or MLIR" >&2
  exit 1
fi
echo "runtime-only build: no LLVM/MLIR on include, link or load paths (bathy-run, bathy-meta, bathy-serve, tests)"
(cd "$DIR" && ctest --output-on-failure -j "$(nproc)")

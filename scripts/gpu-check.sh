#!/usr/bin/env bash
# One command for a GPU machine (and its CPU-side half anywhere):
#
#   scripts/gpu-check.sh [--out DIR] [--cpu-only] [--models a,b,...]
#
# CPU side (needs bathy's build, which needs LLVM/MLIR 22, and NVRTC): the
# suite models (test/models/export_torch.py, torch from Debian's python3) and
# the bundled CNN compiled by bathyc --target=cuda for sm_80 and sm_90 plus
# PTX, each with its register/spill report, into DIR/<model>/. Where there
# is no build (a bare GPU machine), give it a DIR the CPU side filled on a
# development machine.
# Device side (python3, ctypes, torch if present): scripts/gpu_check.py loads
# every CUBIN on device 0 (PTX through the driver's JIT when no CUBIN
# matches), looks up every kernel, and times torch eager and torch.compile on
# the same models; DIR/summary.md holds the results.
#
# Exit status: 0 all good; 1 a step failed; 3 no CUDA device (after the CPU
# side ran, with a message saying what is missing).
set -uo pipefail
cd "$(dirname "$0")/.."

out=gpu-check-out
cpu_only=0
models="tiny_cnn,resnet50,mobilenet_v2,efficientnet_b0,vit,bert,gpt2,llama"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --cpu-only) cpu_only=1; shift ;;
    --models) models=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 1 ;;
  esac
done
mkdir -p "$out"
start=$(date +%s)

bathyc=${BATHY_BUILD_DIR:-build}/bin/bathyc
if [ -x "$bathyc" ]; then
  echo "== CPU side: bathyc --target=cuda ($models)"
  torch_models=$(echo "$models" | tr ',' '\n' | grep -v '^tiny_cnn$' | tr '\n' ' ')
  if [ -n "$torch_models" ]; then
    mkdir -p "$out/onnx"
    if ! /usr/bin/python3 test/models/export_torch.py "$out/onnx" $torch_models > "$out/export.log" 2>&1; then
      echo "gpu-check: exporting the torch models failed (see $out/export.log)" >&2; exit 1
    fi
  fi
  for m in $(echo "$models" | tr ',' ' '); do
    src="$out/onnx/$m.onnx"
    [ "$m" = tiny_cnn ] && src=models/tiny_cnn.onnxtext
    mkdir -p "$out/$m"
    if ! "$bathyc" "$src" --target=cuda --cuda-arch=sm_80,sm_90 --cuda-report \
        --max-spill-bytes=0 -o "$out/$m/kernels.cu" > "$out/$m/report.txt" 2>&1; then
      echo "gpu-check: $m does not compile for CUDA:" >&2; tail -n 20 "$out/$m/report.txt" >&2; exit 1
    fi
    echo "$m: $(tail -n 1 "$out/$m/report.txt")"
  done
else
  echo "== CPU side skipped: no $bathyc (build bathy on a machine with LLVM/MLIR 22 and run"
  echo "   scripts/gpu-check.sh --cpu-only --out DIR there, then give this machine DIR)"
fi
[ "$cpu_only" = 1 ] && { echo "gpu-check: CPU side done in $(( $(date +%s) - start )) s ($out)"; exit 0; }

echo "== device side"
python3 scripts/gpu_check.py --bundle "$out" --summary "$out/summary.md"
rc=$?
echo "gpu-check: done in $(( $(date +%s) - start )) s, summary in $out/summary.md (exit $rc)"
exit $rc

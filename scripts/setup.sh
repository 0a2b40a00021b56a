#!/usr/bin/env bash
# Installs everything bathy needs on a Debian 12 machine and creates the
# Python environment the tests use. Run as root (or with sudo available).
# Idempotent: a second run only checks and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libprotobuf-dev protobuf-compiler libonnx-dev
  libabsl-dev libgtest-dev libgmock-dev
  lld-22 flatbuffers-compiler libflatbuffers-dev libssl-dev
  zlib1g-dev libzstd-dev
  libgrpc++-dev protobuf-compiler-grpc libcpp-httplib-dev libsimdjson-dev openssl
  python3 python3-venv python3-pip python3-torch python3-torchvision
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages present"
fi

# The test environment: lit/FileCheck drivers, the ONNX reference tools and
# the ONNX node conformance data (shipped by onnx==1.22.0), onnxruntime as the
# numerical oracle.
VENV=.venv
REQS=scripts/requirements-test.txt
stamp="$VENV/.bathy-requirements"
PY=${BATHY_PYTHON:-/usr/bin/python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
if ! cmp -s "$REQS" "$stamp"; then
  echo "setup: installing Python packages from $REQS"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$REQS"
  cp "$REQS" "$stamp"
else
  echo "setup: Python environment up to date"
fi

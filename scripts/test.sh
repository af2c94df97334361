#!/usr/bin/env bash
# Installs what is missing, builds the CPU build (with tests and the Python extension) and the
# CUDA build (compile and link only: it keeps GPU code from rotting on machines without a GPU),
# installs the Python package, then runs the C++ tests and the Python tests.
# Usage: ./scripts/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

wsd_setup
wsd_build build "${WSD_CPU_BUILD_ARGS[@]}"
# The CUDA compile check needs a CUDA toolkit (nvcc); WSD_SKIP_CUDA_BUILD=1 (the CPU container
# image) leaves it to GPU images.
if [ -n "${WSD_SKIP_CUDA_BUILD:-}" ]; then
  wsd_log "WSD_SKIP_CUDA_BUILD: no CUDA compile check"
elif ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  wsd_log "no CUDA toolkit (nvcc): no CUDA compile check on this machine"
else
  wsd_build build-cuda -DWSD_WITH_CUDA=ON -DWSD_WITH_GLOO=ON
fi
wsd_install_python_package
wsd_log "running tests"
# One thread per test: the tests run in parallel and torch threads would only contend.
status=0
OMP_NUM_THREADS=1 ctest --test-dir build --output-on-failure --parallel "$(nproc)" "$@" || status=1
wsd_log "running the Python tests"
OMP_NUM_THREADS=1 "$WSD_VENV/bin/python" -m pytest -q -p no:cacheprovider python/tests || status=1
exit $status

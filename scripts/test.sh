#!/usr/bin/env bash
# Installs what is missing, builds the CPU build (with tests) and the CUDA build (compile and
# link only: it keeps GPU code from rotting on machines without a GPU), then runs the tests.
# Usage: ./scripts/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

wsd_setup
wsd_build build -DWSD_WITH_CUDA=OFF -DWSD_WITH_GLOO=ON
wsd_build build-cuda -DWSD_WITH_CUDA=ON -DWSD_WITH_GLOO=ON
wsd_log "running tests"
# One thread per test: the tests run in parallel and torch threads would only contend.
OMP_NUM_THREADS=1 ctest --test-dir build --output-on-failure --parallel "$(nproc)" "$@"

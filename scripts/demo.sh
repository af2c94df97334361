#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on embedded defaults: a short training
# of a small WS-diffusion prior on Fashion-MNIST with structured (GRF) noise, then samples.
# Outputs go to runs/demo/ (override with WSD_DEMO_OUT).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

wsd_setup
wsd_build build -DWSD_WITH_CUDA=OFF -DWSD_WITH_GLOO=ON

out="${WSD_DEMO_OUT:-runs/demo}"
steps="${WSD_DEMO_STEPS:-300}"
wsd_log "training a small prior on Fashion-MNIST for $steps steps -> $out"
./build/cli/wsdiff train --config configs/fashion_mnist_ws.yaml \
  --set train.steps="$steps" --out "$out"
wsd_log "sampling 16 images from the EMA weights -> $out/samples"
./build/cli/wsdiff sample --checkpoint "$out/checkpoints/last.h5" --n 16 --steps 100 \
  --out "$out/samples"
./build/cli/wsdiff info "$out/checkpoints/last.h5"
wsd_log "done: training curve in $out/metrics.jsonl, samples in $out/samples/samples.png"

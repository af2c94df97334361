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
./build/cli/wsdiff train --config configs/demo_fashion_mnist.yaml \
  --set train.steps="$steps" --set train.sample_every="$steps" --out "$out"
wsd_log "sampling 16 images from the EMA weights -> $out/samples"
./build/cli/wsdiff sample --checkpoint "$out/checkpoints/last.h5" --n 16 --steps 100 \
  --out "$out/samples"
wsd_log "structured noise of the prior -> $out/noise.png"
./build/cli/wsdiff noise --config configs/demo_fashion_mnist.yaml --n 16 --out "$out/noise.h5" \
  --png "$out/noise.png"
./build/cli/wsdiff info "$out/checkpoints/last.h5"
wsd_log "done: run directory $out (config.yaml, wsdiff.log, metrics.jsonl), samples $out/samples/samples.png, training-time grid $out/samples/step_$steps.png, noise $out/noise.png"

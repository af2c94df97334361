#!/usr/bin/env bash
# The main job in a few minutes: two of the paper's tasks (dehazing, and deblurring through haze)
# simulated on 16 Fashion-MNIST test images and solved with the shipped WS prior, the shipped
# conventional (white-noise) prior and the Wiener filter; prints the PSNR/SSIM table and writes
# one figure per task. Installs what is missing and builds only the wsdiff executable.
#
#   ./scripts/demo.sh            solve with the priors in models/ (a few minutes on 2 cores)
#   ./scripts/demo.sh --train    train the priors first (scripts/train-priors.sh: hours on a
#                                CPU), export them to runs/demo/priors/, then solve with those
#
# Outputs go to runs/demo/ (override with WSD_DEMO_OUT).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

train=0
case "${1:-}" in
  --train) train=1 ;;
  "") ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) wsd_log "unknown argument '$1' (see --help)"; exit 2 ;;
esac

wsd_setup
WSD_BUILD_TARGET=wsdiff wsd_build build "${WSD_CPU_BUILD_ARGS[@]}"
wsdiff=./build/cli/wsdiff
out="${WSD_DEMO_OUT:-runs/demo}"
mkdir -p "$out"

ws=models/fashion_mnist_ws.h5
conventional=models/fashion_mnist_conventional.h5
ws_run=fashion_mnist_ws_three_quarter_white  # the WS run that scripts/train-priors.sh trains
if [ "$train" -eq 1 ]; then
  ./scripts/train-priors.sh
  for run in "$ws_run" fashion_mnist_conventional; do
    "$wsdiff" export --checkpoint "runs/priors/$run/checkpoints/last.h5" \
      --metrics "runs/priors/$run/metrics.jsonl" --out "$out/priors/$run.h5"
  done
  ws="$out/priors/$ws_run.h5"
  conventional="$out/priors/fashion_mnist_conventional.h5"
fi
for prior in "$ws" "$conventional"; do
  [ -f "$prior" ] || { wsd_log "missing prior $prior (run with --train to make it)"; exit 2; }
done

# Unconditional samples first: what the WS prior has learnt, at a glance.
wsd_log "16 unconditional samples from the WS prior -> $out/samples/samples.png"
"$wsdiff" --log-level warn sample --checkpoint "$ws" --n 16 --steps 50 --out "$out/samples" \
  --set sampler.method=dpm_solver_2m

# 50 exponential steps, each the Gaussian posterior transition under the task's noise model
# (sampler.likelihood proximal): no data weight to tune, so no validation runs.
wsd_log "solving dehaze and deblur_dehaze on 16 test images (progress below)"
"$wsdiff" eval -c experiments/dehaze.yaml -c experiments/deblur_dehaze.yaml -o "$out/eval" \
  --set eval.checkpoint="$ws" --set eval.conventional_checkpoint="$conventional" \
  --set eval.methods=[ws_prior,conventional_prior,wiener] --set eval.n_images=16 \
  --set eval.statistics_images=2000 --set eval.lambda_grid=[] --set sampler.batch_size=16

echo
cat "$out/eval/results.md"
wsd_log "done: table $out/eval/results.md, figures $out/eval/*/figure.png, samples $out/samples/samples.png"

#!/usr/bin/env bash
# The own-noise experiment end to end, as a user would run it (experiments/own_noise/README.md):
# blank frames of a camera's noise -> `wsdiff noise fit` -> the shipped WS prior fine-tuned to the
# fitted noise -> noise-free measurements of test and validation images with the camera's own
# noise added -> `wsdiff pack` -> `wsdiff eval` of the adapted WS prior, the shipped WS prior, the
# conventional prior and Wiener on the same measurements -> paired intervals.
#
# Usage: experiments/own_noise/run.sh [FINE_TUNE_STEPS]   (default 3000; 0 skips training and
# uses the adapted prior already in runs/own_noise/prior)
# Needs a built ./build/cli/wsdiff and the project venv (numpy, h5py). Writes runs/own_noise/ and
# experiments/results/own_noise/.
set -euo pipefail
cd "$(dirname "$0")/../.."
WSDIFF=${WSDIFF:-./build/cli/wsdiff}
PY=${PY:-.venv/bin/python}
STEPS=${1:-3000}
RUN=runs/own_noise
OUT=experiments/results/own_noise
HERE=experiments/own_noise
mkdir -p "$RUN" "$OUT"

# 1. The camera's blank frames and the fitted spectrum.
"$PY" $HERE/camera_noise.py frames $RUN/frames.h5 --n 200 --seed 1
"$WSDIFF" noise fit --frames $RUN/frames.h5 --dataset /frames --out $RUN/noise.h5 \
  2>&1 | tee $RUN/noise_fit.log
level=$("$PY" -c "import h5py,math; print(round(math.sqrt(h5py.File('$RUN/noise.h5')['/'].attrs['pixel_variance']), 4))")
echo "fitted pixel std: $level"

# 2. The shipped WS prior fine-tuned to the fitted noise.
if [ "$STEPS" -gt 0 ]; then
  end=$((47000 + STEPS))
  resume=models/fashion_mnist_ws.h5
  [ -f $RUN/prior/checkpoints/last.h5 ] && resume=auto
  "$WSDIFF" train -c $HERE/prior_adapted.yaml -o $RUN/prior --resume $resume \
    --set train.steps=$end
fi
"$WSDIFF" export --checkpoint $RUN/prior/checkpoints/last.h5 --out $RUN/fashion_mnist_ws_camera.h5 \
  --metrics $RUN/prior/metrics.jsonl

# 3. Measurements with the camera's own noise, packed with the declared (fitted) noise.
for task in denoise deblur; do
  set_level=(--set task.noise_level=$level)
  "$WSDIFF" simulate -c $HERE/$task.yaml --set task.noise_level=0 --n 100 -o $RUN/${task}_clean.h5
  "$WSDIFF" simulate -c $HERE/$task.yaml --set task.noise_level=0 --n 32 --validation \
    -o $RUN/${task}_clean_validation.h5
  "$PY" $HERE/camera_noise.py add $RUN/${task}_clean.h5 $RUN/${task}_noisy.h5 --seed 2
  "$PY" $HERE/camera_noise.py add $RUN/${task}_clean_validation.h5 \
    $RUN/${task}_noisy_validation.h5 --seed 3
  for part in "" _validation; do
    "$WSDIFF" pack -c $HERE/$task.yaml "${set_level[@]}" --set data.float_range=symmetric \
      --images $RUN/${task}_noisy$part.h5 --truth $RUN/${task}_noisy$part.h5 \
      -o $RUN/${task}_packed$part.h5
  done
  common=(-c $HERE/$task.yaml "${set_level[@]}"
          --set eval.measurements=$RUN/${task}_packed.h5
          --set eval.validation_measurements=$RUN/${task}_packed_validation.h5
          --set eval.conventional_checkpoint=models/fashion_mnist_conventional.h5)
  # 4. The adapted WS prior beside the conventional prior and Wiener; then the shipped WS prior.
  rm -rf $RUN/eval_$task $RUN/eval_${task}_shipped
  "$WSDIFF" eval "${common[@]}" --set eval.checkpoint=$RUN/fashion_mnist_ws_camera.h5 \
    -o $RUN/eval_$task
  "$WSDIFF" eval "${common[@]}" --set eval.checkpoint=models/fashion_mnist_ws.h5 \
    --set 'eval.methods=[ws_prior]' -o $RUN/eval_${task}_shipped
done

# 5. The table with paired intervals, and the figures.
"$PY" $HERE/summarise.py $RUN $OUT

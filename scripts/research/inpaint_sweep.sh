#!/usr/bin/env bash
# PSNR against network evaluations for inpainting under structured noise
# (experiments/inpaint_structured.yaml) with the shipped WS prior: the proximal step, solved by
# conjugate gradients (the operator is not Fourier-diagonal), at data weight 1, against
# Algorithm 1 of the paper (euler + ws) with its data weight chosen on the validation images.
# Writes runs/inpaint_sweep/ and prints one line per point: steps, evaluations, PSNR, SSIM.
set -euo pipefail
cd "$(dirname "$0")/../.."
WSDIFF=${WSDIFF:-./build/cli/wsdiff}
OUT=runs/inpaint_sweep
mkdir -p $OUT
common=(-c experiments/inpaint_structured.yaml --set 'eval.methods=[ws_prior]'
        --set eval.checkpoint=models/fashion_mnist_ws.h5 --set eval.save_png=false --json)
point() {  # name, then --set arguments
  local name=$1; shift
  "$WSDIFF" eval "${common[@]}" "$@" -o $OUT/$name > $OUT/$name.json 2> $OUT/$name.log
  python3 -c "
import json; t = json.load(open('$OUT/$name.json'))['tasks'][0]
m = [m for m in t['methods'] if m['method'] == 'ws_prior'][0]
print('$name', m['steps'], round(m['psnr']['mean'], 2), round(m['psnr']['ci95'][0], 2),
      round(m['psnr']['ci95'][1], 2), round(m['ssim']['mean'], 4), m.get('lambda'),
      round(m['seconds_per_image'], 3))"
}
for steps in ${PROXIMAL_STEPS:-5 10 20 50}; do
  point proximal_$steps --set sampler.steps=$steps --set 'eval.lambda_grid=[]'
done
for steps in ${ALGORITHM1_STEPS:-100 1000}; do
  point algorithm1_$steps --set sampler.method=euler --set sampler.likelihood=ws \
    --set sampler.steps=$steps --set 'eval.lambda_grid=[10, 30, 100]'
done

#!/usr/bin/env bash
# The GPU figures of the project in one command, for a GPU machine without a package registry.
#
#   ./scripts/gpu-bench.sh prepare    (on a machine with Debian's registry and a CPU build)
#       downloads the .deb files the GPU build needs (gpu-build.sh fetch) and simulates the
#       measurement files the solve benchmarks read into .deps/gpu-bench/ (git-ignored);
#   ./scripts/gpu-bench.sh run [OUT.json]   (on the GPU machine, with .deps/ copied along)
#       builds build-gpu/ and runs the `gpu` tests (gpu-build.sh build), then times, each as
#       `wsdiff bench --json`:
#         - training images/s of configs/cifar10_ws_ddpm_unet.yaml (the authors'
#           network, batch 128) in every setting --compare knows (fp32/bf16 x contiguous/
#           channels-last x cuDNN benchmark), and of the two Fashion-MNIST prior configs;
#         - unconditional sampling of the authors' network, batch 1 and 16, fp32 and bf16
#           (20 timed steps, extrapolated to 1000);
#         - posterior sampling with models/fashion_mnist_ws.h5 on the dehaze and deblur_dehaze
#           measurements, batch 1 and 16, at 1000 Euler steps with the ws step (Algorithm 1)
#           and at the tasks' own few-step setting (50 exponential steps, proximal step); and
#           as CUDA graphs (sampler.cuda_graph), 16 measurements one at a time, Algorithm 1
#           and 50 dpm_solver_2m steps with the ws step (the proximal step cannot be recorded);
#         - structured noise for 128 images of 3x32x32;
#       and writes them into one JSON object (default: runs/gpu-bench.json), keyed by what ran.
#
# bf16 is network evaluation under autocast (docs/gpu.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
meas_dir=".deps/gpu-bench"
tasks=(dehaze deblur_dehaze)

prepare() {
  ./scripts/gpu-build.sh fetch
  mkdir -p "$meas_dir"
  for task in "${tasks[@]}"; do
    ./build/cli/wsdiff simulate --config "experiments/$task.yaml" --n 16 \
      --out "$meas_dir/$task.h5" --device cpu
  done
  echo "[wsdiff] measurements in $meas_dir/: copy .deps/ to the GPU machine with the tree"
}

run() {
  local out="${1:-runs/gpu-bench.json}" parts
  [ -f "$meas_dir/${tasks[0]}.h5" ] ||
    { echo "no $meas_dir/: run '$0 prepare' where the CPU build is, then copy .deps/ here" >&2; exit 2; }
  local start=$SECONDS
  ./scripts/gpu-build.sh build -L gpu
  parts="$(mktemp -d)"
  local wsdiff=./build-gpu/cli/wsdiff multiarch
  # The libraries gpu-build.sh unpacked, for the wsdiff it built.
  multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")"
  export LD_LIBRARY_PATH="${WSD_DEPS_PREFIX:-/tmp/deps}/usr/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  bench() {  # bench NAME ARGS...: one wsdiff bench --json into $parts/NAME.json
    local name="$1"; shift
    echo "[wsdiff] bench $name ($((SECONDS - start)) s so far)" >&2
    "$wsdiff" bench --json --device cuda "$@" > "$parts/$name.json"
  }
  # What has not run on a GPU yet must not cost the other figures: a failure is recorded.
  bench_untried() {
    bench "$@" || { rm -f "$parts/$1.json"; printf '{"failed": true}\n' > "$parts/$1.json"; }
  }
  bench train_cifar10 --what train --config configs/cifar10_ws_ddpm_unet.yaml --compare
  for prior in ws conventional; do
    bench "train_fashion_mnist_$prior" --what train \
      --config "configs/prior_fashion_mnist_$prior.yaml"
  done
  for precision in fp32 bf16; do
    for batch in 1 16; do
      bench "sample_cifar10_${precision}_batch$batch" --what sample \
        --config configs/cifar10_ws_ddpm_unet.yaml --precision "$precision" --batch "$batch"
    done
  done
  for task in "${tasks[@]}"; do
    for batch in 1 16; do
      bench "solve_${task}_algorithm1_batch$batch" --what solve --checkpoint models/fashion_mnist_ws.h5 \
        --measurements "$meas_dir/$task.h5" --batch "$batch" --set sampler.method=euler \
        --set sampler.likelihood=ws --set sampler.steps=1000 --set sampler.lambda=auto
      bench "solve_${task}_few_step_batch$batch" --what solve --checkpoint models/fashion_mnist_ws.h5 \
        --measurements "$meas_dir/$task.h5" --batch "$batch"
    done
    # 16 measurements one at a time: one recording, replayed for the other 15.
    for setting in algorithm1 few_step; do
      local sampler_args=()
      [ "$setting" = algorithm1 ] && sampler_args=(--set sampler.method=euler
        --set sampler.likelihood=ws --set sampler.steps=1000 --set sampler.lambda=auto)
      [ "$setting" = few_step ] && sampler_args=(--set sampler.method=dpm_solver_2m
        --set sampler.likelihood=ws --set sampler.steps=50 --set sampler.lambda=auto)
      bench_untried "solve_${task}_${setting}_cuda_graph_16_at_batch1" --what solve \
        --checkpoint models/fashion_mnist_ws.h5 --measurements "$meas_dir/$task.h5" --batch 16 \
        --set sampler.batch_size=1 --set sampler.cuda_graph=true "${sampler_args[@]}"
    done
  done
  bench noise_3x32x32 --what noise --shape 3,32,32 --batch 128
  mkdir -p "$(dirname "$out")"
  python3 - "$parts" "$out" $((SECONDS - start)) <<'EOF'
import json, pathlib, sys
parts, out, seconds = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
report = {"wall_seconds": seconds}
report.update({p.stem: json.loads(p.read_text()) for p in sorted(parts.glob("*.json"))})
pathlib.Path(out).write_text(json.dumps(report, indent=1) + "\n")
print(f"[wsdiff] {len(report) - 1} benchmarks in {seconds} s -> {out}", file=sys.stderr)
EOF
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 prepare | run [OUT.json]" >&2; exit 2 ;;
esac

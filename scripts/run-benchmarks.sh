#!/usr/bin/env bash
# The paper's tasks on the shipped priors: every experiments/<task>.yaml evaluated on its test
# images (data weights chosen on validation images of the training split, see the configs), with
# results committed as experiments/results/<task>.{json,md,png}.
#
#   ./scripts/run-benchmarks.sh [TASK...]     default: all six tasks
#
# Priors: models/fashion_mnist_{ws,conventional}.h5 (override with WSD_WS_PRIOR and
# WSD_CONVENTIONAL_PRIOR). Runs go to runs/benchmarks/<task>/.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(dehaze deblur_dehaze denoise_structured transport_of_intensity idt deblur_white)
ws="${WSD_WS_PRIOR:-models/fashion_mnist_ws.h5}"
conventional="${WSD_CONVENTIONAL_PRIOR:-models/fashion_mnist_conventional.h5}"
for prior in "$ws" "$conventional"; do
  [ -f "$prior" ] || { wsd_log "missing prior $prior"; exit 2; }
done

wsd_setup
WSD_BUILD_TARGET=wsdiff wsd_build build "${WSD_CPU_BUILD_ARGS[@]}"
mkdir -p experiments/results
for task in "${tasks[@]}"; do
  config="experiments/$task.yaml"
  [ -f "$config" ] || { wsd_log "no such task: $config"; exit 2; }
  out="runs/benchmarks/$task"
  command=(./build/cli/wsdiff eval -c "$config" -o "$out"
           --set eval.checkpoint="$ws" --set eval.conventional_checkpoint="$conventional")
  wsd_log "task $task -> $out"
  "${command[@]}"
  cp "$out/results.json" "experiments/results/$task.json"
  cp "$out/$task/figure.png" "experiments/results/$task.png"
  { cat "$out/results.md"
    echo "Figure: \`$task.png\` (truth | measurement | each method). Made by:"
    echo
    echo '```sh'
    echo "${command[*]}"
    echo '```'
  } > "experiments/results/$task.md"
done
wsd_log "done: experiments/results/"

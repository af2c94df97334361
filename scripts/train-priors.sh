#!/usr/bin/env bash
# Trains the Fashion-MNIST priors (models/README.md): the WS prior (structured noise: GRF with a
# white share of 0.75) and the conventional prior (white noise), from
# configs/prior_fashion_mnist_{ws_three_quarter_white,conventional}.yaml, side by side, each on half of
# the CPU cores (or on the GPU when there is one).
#
#   ./scripts/train-priors.sh [--steps N] [--set KEY=VALUE]... [--prior NAME]...
#                                           train (default: the configs' train.steps), resuming;
#                                           --set overrides a config key of every run; --prior
#                                           picks configs/prior_fashion_mnist_NAME.yaml (default:
#                                           ws_three_quarter_white and conventional; also
#                                           ws_half_white (white share 0.5), ws (0.1) and ws_grf)
#   ./scripts/train-priors.sh carry         copy each run's last.h5 and metrics.jsonl to
#                                           models/in-progress/<name>/ (to go on elsewhere)
#   ./scripts/train-priors.sh export        write each run's EMA weights to models/<name>.h5
#                                           (the ws_three_quarter_white run ships as the WS prior,
#                                           models/fashion_mnist_ws.h5) and their sha256 to
#                                           models/SHA256SUMS
#
# carry and export take --prior too. Runs live in runs/priors/<name>/ (override with
# WSD_PRIORS_RUNS) and resume there (--resume auto). A fresh run directory resumes from
# models/in-progress/<name>/last.h5 when that exists, and its metrics.jsonl comes along, so the
# validation curve stays whole.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

action=train
steps=""
overrides=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    carry|export) action="$1"; shift ;;
    --steps) steps="$2"; shift 2 ;;
    --set) overrides+=(--set "$2"); shift 2 ;;
    --prior)
      [ -f "configs/prior_fashion_mnist_$2.yaml" ] ||
        { wsd_log "no config configs/prior_fashion_mnist_$2.yaml for --prior $2"; exit 2; }
      names+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) wsd_log "unknown argument '$1' (see --help)"; exit 2 ;;
  esac
done

runs="${WSD_PRIORS_RUNS:-runs/priors}"
[ ${#names[@]} -gt 0 ] || names=(ws_three_quarter_white conventional)
wsdiff=./build/cli/wsdiff

wsd_setup
WSD_BUILD_TARGET=wsdiff wsd_build build "${WSD_CPU_BUILD_ARGS[@]}"

case "$action" in
  carry)
    for name in "${names[@]}"; do
      run="$runs/fashion_mnist_$name"
      dest="models/in-progress/fashion_mnist_$name"
      mkdir -p "$dest"
      cp "$run/checkpoints/last.h5" "$dest/last.h5"
      cp "$run/metrics.jsonl" "$dest/metrics.jsonl"
      wsd_log "carried $run (step $("$wsdiff" info "$dest/last.h5" | sed -n 's/^  step *\([0-9]*\).*/\1/p')) -> $dest"
    done
    exit 0 ;;
  export)
    for name in "${names[@]}"; do
      run="$runs/fashion_mnist_$name"
      shipped="$name"
      [ "$name" = ws_three_quarter_white ] && shipped=ws  # the shipped WS prior keeps its file name
      "$wsdiff" export --checkpoint "$run/checkpoints/last.h5" --metrics "$run/metrics.jsonl" \
        --out "models/fashion_mnist_$shipped.h5"
      wsd_log "$run -> models/fashion_mnist_$shipped.h5"
    done
    (cd models && sha256sum fashion_mnist_*.h5 > SHA256SUMS)
    wsd_log "sha256 in models/SHA256SUMS"
    exit 0 ;;
esac

threads=$(( $(nproc) / ${#names[@]} )); [ "$threads" -ge 1 ] || threads=1
pids=()
for name in "${names[@]}"; do
  out="$runs/fashion_mnist_$name"
  carried="models/in-progress/fashion_mnist_$name"
  resume=auto
  if [ ! -d "$out/checkpoints" ] && [ -f "$carried/last.h5" ]; then
    mkdir -p "$out"
    cp "$carried/metrics.jsonl" "$out/" 2>/dev/null || true
    resume="$carried/last.h5"
  fi
  args=(--config "configs/prior_fashion_mnist_$name.yaml" --out "$out" --resume "$resume")
  [ -n "$steps" ] && args+=(--set "train.steps=$steps")
  [ ${#overrides[@]} -gt 0 ] && args+=("${overrides[@]}")
  mkdir -p "$(dirname "$out")"
  wsd_log "training the $name prior -> $out (progress: $out.log)"
  OMP_NUM_THREADS=$threads "$wsdiff" train "${args[@]}" >"$out.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" -eq 0 ] || { wsd_log "a training run failed: see $runs/*.log"; exit 1; }
wsd_log "done: checkpoints in $runs/*/checkpoints; './scripts/train-priors.sh export' ships them"

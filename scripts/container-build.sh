#!/usr/bin/env bash
# Builds the wsdiff container images with podman, without an image registry:
#   1. a Debian 12 base root file system made by debootstrap from Debian's mirror, imported as
#      localhost/wsdiff-base:bookworm (made once, then reused);
#   2. docker/Dockerfile.cpu on it with `podman build --isolation=chroot`, which runs the test
#      suite inside the build: tag wsdiff:cpu;
#   3. with --cuda, docker/Dockerfile (CUDA devel base) where that base image can be pulled.
# Usage: ./scripts/container-build.sh [--cuda]   (root; installs podman and debootstrap)
# Logs: build-container.log. Environment: WSD_MIRROR (Debian mirror), WSD_BASE_DIR (rootfs).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$WSD_ROOT"

MIRROR=${WSD_MIRROR:-http://deb.debian.org/debian}
BASE_DIR=${WSD_BASE_DIR:-/var/tmp/wsdiff-debian-bookworm}
BASE_TAG=localhost/wsdiff-base:bookworm
LOG="$WSD_ROOT/build-container.log"
: >"$LOG"

need() {
  command -v "$1" >/dev/null && return 0
  wsd_log "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >>"$LOG" 2>&1
}
need podman podman
need debootstrap debootstrap

if ! podman image exists "$BASE_TAG"; then
  if [ ! -x "$BASE_DIR/usr/bin/apt-get" ]; then
    wsd_log "debootstrap: Debian 12 (bookworm) into $BASE_DIR from $MIRROR"
    rm -rf "$BASE_DIR"
    debootstrap --variant=minbase bookworm "$BASE_DIR" "$MIRROR" >>"$LOG" 2>&1
  fi
  # The mirror the base was made from is the one its apt uses.
  echo "deb $MIRROR bookworm main" >"$BASE_DIR/etc/apt/sources.list"
  echo "deb $MIRROR bookworm-updates main" >>"$BASE_DIR/etc/apt/sources.list"
  echo "deb ${MIRROR%/debian}/debian-security bookworm-security main" \
    >>"$BASE_DIR/etc/apt/sources.list"
  rm -rf "$BASE_DIR/var/cache/apt/archives/"*.deb "$BASE_DIR/var/lib/apt/lists/"*
  wsd_log "podman import -> $BASE_TAG"
  tar -C "$BASE_DIR" -c . | podman import - "$BASE_TAG" >>"$LOG" 2>&1
fi

# The build context is the repository as committed plus the working tree's changes, without
# build trees, the virtual environment or run outputs (.containerignore).
wsd_log "podman build wsdiff:cpu (builds wsdiff and runs the test suite inside; see $LOG)"
start=$SECONDS
# The host's CA bundle, for pip behind a TLS-re-signing proxy (build time only).
ca=()
[ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro)
podman build --isolation=chroot --network=host "${ca[@]}" -f docker/Dockerfile.cpu \
  --build-arg BASE="$BASE_TAG" -t wsdiff:cpu . >>"$LOG" 2>&1 ||
  { tail -n 60 "$LOG" >&2; wsd_log "image build failed (log: $LOG)"; exit 1; }
wsd_log "wsdiff:cpu built in $((SECONDS - start)) s: $(podman image inspect wsdiff:cpu \
  --format '{{.Size}}' | numfmt --to=iec) ($(podman image inspect wsdiff:cpu --format '{{.Id}}' |
  cut -c1-12))"
# The image runs: its wsdiff and its Python package, by `podman run`, or where this machine's
# kernel refuses a container's resource limits (some VMs), as build steps under chroot isolation.
smoke='wsdiff info models/fashion_mnist_ws.h5 | head -n 3 && .venv/bin/python -c "import wsdiff; print(wsdiff.load_prior(\"models/fashion_mnist_ws.h5\"))"'
if ! podman run --rm --entrypoint /bin/sh wsdiff:cpu -c "$smoke" 2>>"$LOG"; then
  wsd_log "podman run is not permitted here; running the same commands under chroot instead"
  context=$(mktemp -d)
  printf 'FROM localhost/wsdiff:cpu\nRUN %s\n' "$smoke" >"$context/Containerfile"
  podman build --isolation=chroot --no-cache -f "$context/Containerfile" "$context" 2>&1 |
    grep -E "^(checkpoint|  format|  model type|Prior)"
  rm -rf "$context"
fi

if [ "${1:-}" = "--cuda" ]; then
  wsd_log "podman build wsdiff:cuda (needs the nvidia/cuda base image from a registry)"
  podman build --isolation=chroot --network=host -f docker/Dockerfile -t wsdiff:cuda . \
    >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; wsd_log "CUDA image not built (log: $LOG)"; exit 1; }
fi

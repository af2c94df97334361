#!/usr/bin/env bash
# Builds wsdiff with CUDA on a GPU machine that has no package registry.
#
#   ./scripts/gpu-build.sh fetch      (on a machine with Debian's registry)
#       downloads the .deb files the build needs into .deps/ (git-ignored);
#   ./scripts/gpu-build.sh build [ctest args...]   (on the GPU machine)
#       unpacks .deps/*.deb into /tmp/deps, configures against the torch of
#       /opt/torch/.venv (override with WSD_GPU_PYTHON), builds build-gpu/ with
#       -DWSD_WITH_CUDA=ON, and runs ctest with the given arguments (default: -L gpu).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
deps_dir="$root/.deps"
unpack_dir="${WSD_DEPS_PREFIX:-/tmp/deps}"

# Libraries and headers the build links, plus the shared libraries those need at run time.
debs=(
  libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libhdf5-cpp-103-1 libhdf5-hl-cpp-100 libsz2 libaec0
  libgtest-dev libcli11-dev nlohmann-json3-dev libstb-dev libstb0 libgloo-dev zlib1g-dev
  ninja-build
)

fetch() {
  mkdir -p "$deps_dir"
  cd "$deps_dir"
  apt-get update -qq
  apt-get download "${debs[@]}" >/dev/null
  echo "[wsdiff] $(ls "$deps_dir"/*.deb | wc -l) packages in .deps/ ($(du -sh "$deps_dir" | cut -f1))"
}

build() {
  local python="${WSD_GPU_PYTHON:-/opt/torch/.venv/bin/python3}"
  [ -d "$deps_dir" ] || { echo "no .deps/: run '$0 fetch' first and carry .deps" >&2; exit 2; }
  mkdir -p "$unpack_dir"
  for deb in "$deps_dir"/*.deb; do dpkg -x "$deb" "$unpack_dir"; done
  export PATH="$unpack_dir/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$unpack_dir/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local torch_prefix nccl_include
  torch_prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  nccl_include="$("$python" -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))')"
  cmake -S "$root" -B "$root/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$unpack_dir/usr" \
    -DHDF5_ROOT="$unpack_dir/usr/lib/x86_64-linux-gnu/hdf5/serial" \
    -DWSD_NCCL_INCLUDE_DIR="$nccl_include" \
    -DTORCH_CUDA_ARCH_LIST=9.0 \
    -DWSD_WITH_CUDA=ON -DWSD_WITH_GLOO=ON
  cmake --build "$root/build-gpu" --parallel "$(nproc)"
  if [ $# -eq 0 ]; then set -- -L gpu; fi
  ctest --test-dir "$root/build-gpu" --output-on-failure "$@"
}

case "${1:-}" in
  fetch) fetch ;;
  build) shift; build "$@" ;;
  *) echo "usage: $0 fetch | build [ctest args...]" >&2; exit 2 ;;
esac

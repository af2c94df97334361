#!/usr/bin/env bash
# Builds wsdiff with CUDA on a GPU machine that has no package registry.
#
#   ./scripts/gpu-build.sh fetch      (on a machine with Debian's registry)
#       downloads the .deb files the build needs into .deps/ (git-ignored);
#   ./scripts/gpu-build.sh build [ctest args...]   (on the GPU machine)
#       unpacks .deps/*.deb into /tmp/deps, configures against the torch of the first Python
#       that has one (WSD_GPU_PYTHON, the active virtual environment, python3 on PATH, then
#       /opt/*/.venv and /opt/*/bin), builds build-gpu/ with -DWSD_WITH_CUDA=ON for the GPU's
#       compute capability (override with TORCH_CUDA_ARCH_LIST), and runs ctest with the given
#       arguments (default: -L gpu).
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

# The first Python that imports torch.
find_torch_python() {
  local candidates=("${WSD_GPU_PYTHON:-}" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python3}"
                    "$(command -v python3 || true)" /opt/*/.venv/bin/python3 /opt/*/bin/python3)
  for python in "${candidates[@]}"; do
    [ -n "$python" ] && [ -x "$python" ] && "$python" -c 'import torch' 2>/dev/null &&
      { echo "$python"; return 0; }
  done
  return 1
}

build() {
  local python arch multiarch
  python="$(find_torch_python)" ||
    { echo "no Python with torch found: set WSD_GPU_PYTHON to one" >&2; exit 2; }
  [ -d "$deps_dir" ] ||
    { echo "no .deps/: run '$0 fetch' where Debian's registry is reachable, then copy .deps/ here" >&2; exit 2; }
  arch="${TORCH_CUDA_ARCH_LIST:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1)}"
  arch="${arch:-9.0}"
  multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")"
  echo "[wsdiff] torch from $python, CUDA architecture $arch" >&2
  mkdir -p "$unpack_dir"
  for deb in "$deps_dir"/*.deb; do dpkg -x "$deb" "$unpack_dir"; done
  export PATH="$unpack_dir/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$unpack_dir/usr/lib/$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local torch_prefix nccl_include
  torch_prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  nccl_include="$("$python" -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))')"
  cmake -S "$root" -B "$root/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$unpack_dir/usr" \
    -DHDF5_ROOT="$unpack_dir/usr/lib/$multiarch/hdf5/serial" \
    -DWSD_NCCL_INCLUDE_DIR="$nccl_include" \
    -DTORCH_CUDA_ARCH_LIST="$arch" \
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

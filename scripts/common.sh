# Shared by the scripts in this folder: installs what is missing, quietly when all is present.
# Sourced, not run.

WSD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WSD_VENV="$WSD_ROOT/.venv"
WSD_TORCH_VERSION="2.11.0"

# Debian packages: toolchain, the libraries the build links, and the default dataset.
WSD_APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3 python3-venv python3-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libhdf5-dev hdf5-tools libgtest-dev libcli11-dev
  nlohmann-json3-dev libstb-dev zlib1g-dev libgloo-dev dataset-fashion-mnist
)

wsd_log() { printf '[wsdiff] %s\n' "$*" >&2; }

wsd_install_apt() {
  local missing=()
  for pkg in "${WSD_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  wsd_log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What the Python package is built with and tested against, besides torch: its build backend,
# pytest, and the projects it interoperates with (deepinv) or writes for (safetensors).
WSD_PYTHON_PACKAGES=(h5py numpy scikit-build-core pytest deepinv safetensors)

# LibTorch comes from the torch wheel: the same build the GPU machine has.
wsd_install_torch() {
  if [ -x "$WSD_VENV/bin/python" ] &&
     "$WSD_VENV/bin/python" -c "import torch, h5py, scikit_build_core, pytest, deepinv, safetensors, sys; sys.exit(torch.__version__.split('+')[0] != '$WSD_TORCH_VERSION')" 2>/dev/null; then
    return 0
  fi
  wsd_log "installing torch==$WSD_TORCH_VERSION and the Python test tools into .venv (once)"
  [ -x "$WSD_VENV/bin/python" ] || python3 -m venv "$WSD_VENV"
  # torch pinned in the same command, so that no other package can move it.
  "$WSD_VENV/bin/pip" install -q --disable-pip-version-check "torch==$WSD_TORCH_VERSION" \
    "${WSD_PYTHON_PACKAGES[@]}"
}

# The Python package (pyproject.toml) into .venv, built in the CPU build folder `build`: on a
# built tree this only links the extension module.
wsd_install_python_package() {
  wsd_log "installing the Python package into .venv"
  local start=$SECONDS
  if ! "$WSD_VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation \
       --no-deps "$WSD_ROOT" >"$WSD_ROOT/build.pip.log" 2>&1; then
    tail -n 40 "$WSD_ROOT/build.pip.log" >&2
    wsd_log "pip install failed (full log: build.pip.log)"
    return 1
  fi
  wsd_log "Python package installed in $((SECONDS - start)) s"
}

wsd_setup() {
  wsd_install_apt
  wsd_install_torch
}

wsd_torch_prefix() {
  "$WSD_VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null
}

# The CPU build folder `build`, configured alike by whichever script runs first: Gloo, and the
# Python extension module (which makes the libraries position-independent).
WSD_CPU_BUILD_ARGS=(-DWSD_WITH_CUDA=OFF -DWSD_WITH_GLOO=ON -DWSD_WITH_PYTHON=ON
                    "-DPython_EXECUTABLE=$WSD_VENV/bin/python")

# wsd_build BUILD_DIR [extra cmake args...]: configure once, then build incrementally; with
# WSD_BUILD_TARGET set (e.g. wsdiff), only that target and what it needs.
wsd_build() {
  local dir="$1"; shift
  local prefix; prefix="$(wsd_torch_prefix)"
  if [ ! -f "$dir/build.ninja" ]; then
    wsd_log "configuring $dir"
    cmake -S "$WSD_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" "$@" >"$dir.configure.log" 2>&1 ||
      { cat "$dir.configure.log" >&2; return 1; }
  fi
  wsd_log "building $dir"
  local target=()
  [ -n "${WSD_BUILD_TARGET:-}" ] && target=(--target "$WSD_BUILD_TARGET")
  if ! cmake --build "$dir" --parallel "$(nproc)" "${target[@]}" >"$dir.build.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\] ' "$dir.build.log" | tail -n 80 >&2
    wsd_log "build of $dir failed (full log: $dir.build.log)"
    return 1
  fi
}

# LibTorch for CPU builds: torch's own imported targets (the wheel's Caffe2Targets.cmake) without
# TorchConfig.cmake, which for the CUDA wheel on PyPI demands a CUDA toolkit (nvcc) even when
# nothing CUDA is linked; a CPU machine has none. Defines what the build uses of torch: the
# targets torch_cpu_library and c10, TORCH_INCLUDE_DIRS and TORCH_INSTALL_PREFIX.
# Searched under CMAKE_PREFIX_PATH: torch.utils.cmake_prefix_path (scripts/common.sh) or a
# site-packages folder (what scikit-build-core passes when it builds the Python package).
find_file(WSD_CAFFE2_TARGETS Caffe2Targets.cmake HINTS ${CMAKE_PREFIX_PATH}
          PATH_SUFFIXES Caffe2 share/cmake/Caffe2 torch/share/cmake/Caffe2 NO_DEFAULT_PATH
          REQUIRED)
get_filename_component(_wsd_caffe2_dir "${WSD_CAFFE2_TARGETS}" DIRECTORY)
get_filename_component(TORCH_INSTALL_PREFIX "${_wsd_caffe2_dir}/../../.." ABSOLUTE)
set(TORCH_INCLUDE_DIRS ${TORCH_INSTALL_PREFIX}/include
                       ${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include)

# The version check find_package(Torch 2.11) would make.
file(STRINGS "${TORCH_INSTALL_PREFIX}/version.py" _wsd_torch_version REGEX "^__version__")
if(NOT _wsd_torch_version MATCHES "'2\\.11\\.")
  message(FATAL_ERROR "torch 2.11 needed, found ${_wsd_torch_version} in ${TORCH_INSTALL_PREFIX}")
endif()

# What Caffe2Config.cmake sets up before the targets: the wheel links protobuf statically (a
# placeholder target stands for it) and names MKL through caffe2::mkl.
if(NOT TARGET protobuf::libprotobuf)
  add_library(wsd_torch_protobuf INTERFACE)
  add_library(protobuf::libprotobuf ALIAS wsd_torch_protobuf)
endif()
include("${_wsd_caffe2_dir}/public/utils.cmake")
include("${_wsd_caffe2_dir}/public/mkl.cmake")
include("${WSD_CAFFE2_TARGETS}")

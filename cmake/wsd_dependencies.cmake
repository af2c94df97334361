# Third-party dependencies: LibTorch from the torch==2.11.0 Python wheel, Debian packages for
# the rest. CMAKE_PREFIX_PATH must contain torch.utils.cmake_prefix_path (scripts/ set it).

if(WSD_WITH_CUDA)
  find_package(Torch 2.11 REQUIRED)
else()
  include(wsd_torch_cpu)
endif()
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(ZLIB REQUIRED)
find_path(WSD_STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb REQUIRED)

# The torch wheel ships fmt 12 headers while the system spdlog is built against its own fmt.
# A compiler ignores -I for system directories such as /usr/include, so the system fmt and
# spdlog headers are exposed through a build-tree directory placed before torch's includes.
get_target_property(_wsd_fmt_inc fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(_wsd_spdlog_inc spdlog::spdlog INTERFACE_INCLUDE_DIRECTORIES)
set(WSD_DEP_INCLUDE_DIR ${CMAKE_BINARY_DIR}/dep-include)
file(MAKE_DIRECTORY ${WSD_DEP_INCLUDE_DIR})
foreach(_pair "fmt;${_wsd_fmt_inc}" "spdlog;${_wsd_spdlog_inc}")
  list(GET _pair 0 _name)
  list(GET _pair 1 _dir)
  file(CREATE_LINK ${_dir}/${_name} ${WSD_DEP_INCLUDE_DIR}/${_name} SYMBOLIC)
endforeach()

# One interface target carries torch with the backend choice, so every library agrees on it
# (the precompiled header requires identical compile definitions everywhere).
add_library(wsd_torch INTERFACE)
target_include_directories(wsd_torch BEFORE INTERFACE ${WSD_DEP_INCLUDE_DIR})
target_link_libraries(wsd_torch INTERFACE fmt::fmt spdlog::spdlog)
if(WSD_WITH_CUDA)
  # The NCCL headers come with the wheel's nvidia-nccl package.
  get_filename_component(_wsd_site ${TORCH_INSTALL_PREFIX} DIRECTORY)
  find_path(WSD_NCCL_INCLUDE_DIR nccl.h
            HINTS ${_wsd_site}/nvidia/nccl/include ENV NCCL_INCLUDE_DIR REQUIRED)
  target_include_directories(wsd_torch SYSTEM INTERFACE ${WSD_NCCL_INCLUDE_DIR})
  target_link_libraries(wsd_torch INTERFACE torch)
  target_compile_definitions(wsd_torch INTERFACE WSD_WITH_CUDA=1)
else()
  # CPU builds load only libtorch_cpu: faster process start, no CUDA runtime needed.
  target_link_libraries(wsd_torch INTERFACE torch_cpu_library c10)
  target_include_directories(wsd_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
endif()
if(WSD_WITH_GLOO)
  find_path(WSD_GLOO_INCLUDE_DIR gloo/config.h REQUIRED)
  target_compile_definitions(wsd_torch INTERFACE WSD_WITH_GLOO=1)
endif()

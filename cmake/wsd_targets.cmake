# Helpers that give every project target the same flags, include root and precompiled header.

set(WSD_WARNINGS -Wall -Wextra)

# A tiny target owns the precompiled torch header; the others reuse it.
if(WSD_USE_PCH)
  add_library(wsd_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/wsd_pch.cpp)
  target_link_libraries(wsd_pch PUBLIC wsd_torch)
  target_compile_options(wsd_pch PRIVATE ${WSD_WARNINGS})
  target_compile_definitions(wsd_pch PUBLIC WSD_VERSION="${PROJECT_VERSION}")
  target_precompile_headers(wsd_pch PRIVATE <torch/torch.h>)
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/source_dir.hpp.in
               ${CMAKE_BINARY_DIR}/generated/wsd_source_dir.hpp @ONLY)

function(wsd_apply_common target)
  target_compile_options(${target} PRIVATE ${WSD_WARNINGS})
  # Position-independent code for the Python module: executables are compiled -fPIC too (after
  # CMake's -fPIE, so it wins), or the precompiled header the libraries share would not match.
  get_target_property(_wsd_type ${target} TYPE)
  if(WSD_WITH_PYTHON AND _wsd_type STREQUAL "EXECUTABLE")
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/generated)
  target_compile_definitions(${target} PUBLIC WSD_VERSION="${PROJECT_VERSION}")
endfunction()

# wsd_library(NAME SOURCES ... [TORCH] [DEPS ...]): a static library of the project.
function(wsd_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  wsd_apply_common(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(${name} PUBLIC wsd_torch)
    if(WSD_USE_PCH)
      target_precompile_headers(${name} REUSE_FROM wsd_pch)
    endif()
  endif()
endfunction()

# ccache cuts rebuilds of torch-heavy translation units; the sloppiness settings let it cache
# objects compiled against the precompiled torch header; the base directory makes paths relative
# so a checkout in another folder (CI's fresh clone) hits the same cache entries.
find_program(WSD_CCACHE ccache)
if(WSD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      ${WSD_CCACHE})
endif()

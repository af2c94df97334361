# ccache cuts rebuilds of torch-heavy translation units; the sloppiness settings let it cache
# objects compiled against the precompiled torch header.
find_program(WSD_CCACHE ccache)
if(WSD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${WSD_CCACHE})
endif()

#pragma once

#include <filesystem>
#include <string>

namespace wsd {

// Prepares a run directory: creates it, writes the fully resolved config as config.yaml and
// sends the log to wsdiff.log inside it. Only the writing rank (rank 0) touches the disk.
std::filesystem::path prepare_run_dir(const std::string& out_dir, const std::string& resolved_yaml,
                                      int rank);

// Writes `text` to `path` through a temporary file and a rename, so readers never see half.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace wsd

#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace wsd {

// Prepares a run directory: creates it, writes the fully resolved config as config.yaml and
// sends the log to wsdiff.log inside it. Only the writing rank (rank 0) touches the disk.
// Refuses (InputError) a directory holding a symbolic link under a name a run writes, so that a
// planted link cannot make the run truncate or append to a file elsewhere.
std::filesystem::path prepare_run_dir(const std::string& out_dir, const std::string& resolved_yaml,
                                      int rank);

// InputError naming the directory and the name when `dir` holds a symbolic link under a name a
// run writes (.lock, config.yaml, wsdiff.log, metrics.jsonl, checkpoints, samples).
void refuse_links_in_run_dir(const std::filesystem::path& dir);

// What shows that `dir` already holds a run (logged metrics or a checkpoint), as a path relative
// to `dir`; nullopt for a missing or fresh directory.
std::optional<std::string> previous_run_in(const std::filesystem::path& dir);

// Removes what a run writes into `dir` (config.yaml, wsdiff.log, metrics.jsonl, checkpoints/,
// samples/) and nothing else, so that a new run starts with none of the old one's files.
void remove_run_outputs(const std::filesystem::path& dir);

// Writes `text` to `path` through a temporary file and a rename, so readers never see half.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace wsd

#pragma once

// Output locations are checked before any compute: a run that would only fail when it saves its
// results (a read-only folder, a file where a folder should be) fails at once, naming the option,
// the path and the operating system's reason.

#include <string>
#include <utility>
#include <vector>

namespace wsd::cli {

// `path` will be written as a file: its folder exists (created if needed) and accepts a new file.
void ensure_writable_file(const std::string& path, const std::string& option);

// `dir` will receive files: it exists (created if needed) and accepts a new file.
void ensure_writable_dir(const std::string& dir, const std::string& option);

// An input of a command: the option that names it ("--checkpoint") and its path.
using NamedPath = std::pair<std::string, std::string>;

// InputError when the output `path` of `option` is, or resolves to (through `..`, a symbolic link
// or a hard link), one of `inputs`: writing it would destroy what the command reads. Checked
// before any work; inputs with an empty path are skipped.
void refuse_output_over_inputs(const std::string& path, const std::string& option,
                               const std::vector<NamedPath>& inputs);

}  // namespace wsd::cli

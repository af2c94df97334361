#pragma once

// Output locations are checked before any compute: a run that would only fail when it saves its
// results (a read-only folder, a file where a folder should be) fails at once, naming the option,
// the path and the operating system's reason.

#include <string>

namespace wsd::cli {

// `path` will be written as a file: its folder exists (created if needed) and accepts a new file.
void ensure_writable_file(const std::string& path, const std::string& option);

// `dir` will receive files: it exists (created if needed) and accepts a new file.
void ensure_writable_dir(const std::string& dir, const std::string& option);

}  // namespace wsd::cli

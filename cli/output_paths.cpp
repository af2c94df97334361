#include "cli/output_paths.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/util/errors.hpp"

namespace wsd::cli {
namespace fs = std::filesystem;

namespace {

// `folder` must exist (created if needed) and accept a new file; errors name `option` and the
// path the user gave.
void check_folder(const fs::path& folder, const std::string& option, const std::string& given) {
  const std::string what = option + " '" + given + "': ";
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw InputError(what + "cannot create the folder: " + ec.message());
  if (!fs::is_directory(folder))
    throw InputError(what + "'" + folder.string() + "' is not a folder");
  // Permissions alone do not say it (read-only mounts, full disks, root in a container): write.
  const fs::path probe = folder / (".wsdiff-write-check-" + std::to_string(::getpid()));
  errno = 0;
  std::FILE* file = std::fopen(probe.c_str(), "wb");
  if (file == nullptr)
    throw InputError(what + "cannot write in its folder: " + std::strerror(errno));
  std::fclose(file);
  fs::remove(probe, ec);
}

}  // namespace

void ensure_writable_dir(const std::string& dir, const std::string& option) {
  check_folder(dir.empty() ? fs::path(".") : fs::path(dir), option, dir);
}

void ensure_writable_file(const std::string& path, const std::string& option) {
  if (fs::is_directory(path)) {
    throw InputError(option + " '" + path + "': is a folder, a file name is needed");
  }
  const fs::path parent = fs::path(path).parent_path();
  check_folder(parent.empty() ? fs::path(".") : parent, option, path);
}

}  // namespace wsd::cli

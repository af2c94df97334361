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

void refuse_output_over_inputs(const std::string& path, const std::string& option,
                               const std::vector<NamedPath>& inputs) {
  if (path.empty()) return;
  // The same file under two names: equivalent() compares device and inode and so sees through
  // links; for paths that do not exist yet, their lexically resolved absolute forms are compared.
  const auto same = [](const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec) && !ec;
    const fs::path ca = fs::weakly_canonical(a, ec);
    if (ec) return false;
    const fs::path cb = fs::weakly_canonical(b, ec);
    return !ec && ca == cb;
  };
  for (const auto& [input_option, input] : inputs) {
    if (input.empty() || !same(path, input)) continue;
    throw InputError(option + " '" + path + "' is the " + input_option + " file '" + input +
                     "'; writing it would destroy the input, choose another path");
  }
}

void ensure_writable_dir(const std::string& dir, const std::string& option) {
  if (!dir.empty() && fs::exists(dir) && !fs::is_directory(dir)) {
    throw InputError(option + " '" + dir + "': is a file, a folder is needed");
  }
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

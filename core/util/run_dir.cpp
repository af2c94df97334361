#include "core/util/run_dir.hpp"

#include <cstdint>
#include <system_error>
#include <vector>

#include "core/io/atomic_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/logging.hpp"

namespace wsd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRunFiles[] = {".lock",         "config.yaml", "wsdiff.log",
                                     "metrics.jsonl", "checkpoints", "samples"};

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& text) {
  write_file_atomically(path.string(), std::vector<uint8_t>(text.begin(), text.end()), "file");
}

void refuse_links_in_run_dir(const fs::path& dir) {
  for (const char* name : kRunFiles) {
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(dir / name, ec))) {
      throw InputError("run directory '" + dir.string() + "': '" + name +
                       "' is a symbolic link; a run writes only files of its own there (remove "
                       "the link or choose another --out)");
    }
  }
}

std::optional<std::string> previous_run_in(const fs::path& dir) {
  // A run that failed before its first step leaves only a config and empty metrics: nothing
  // that starting over would lose.
  std::error_code ec;
  const fs::path metrics = dir / "metrics.jsonl";
  if (fs::is_regular_file(metrics, ec) && fs::file_size(metrics, ec) > 0 && !ec) {
    return std::string("metrics.jsonl");
  }
  const fs::path checkpoints = dir / "checkpoints";
  if (fs::is_directory(checkpoints, ec)) {
    for (const auto& entry : fs::directory_iterator(checkpoints, ec)) {
      if (entry.path().extension() == ".h5") {
        return "checkpoints/" + entry.path().filename().string();
      }
    }
  }
  return std::nullopt;
}

void remove_run_outputs(const fs::path& dir) {
  for (const char* name : kRunFiles) {
    if (std::string(name) == ".lock") continue;  // held by this run
    std::error_code ec;
    fs::remove_all(dir / name, ec);
    if (ec) {
      throw std::runtime_error("cannot remove '" + (dir / name).string() + "': " + ec.message());
    }
  }
}

fs::path prepare_run_dir(const std::string& out_dir, const std::string& resolved_yaml, int rank) {
  const fs::path dir(out_dir);
  if (rank != 0) return dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError("cannot create run directory '" + out_dir + "': " + ec.message());
  }
  refuse_links_in_run_dir(dir);
  write_file_atomically(dir / "config.yaml", resolved_yaml);
  add_log_file((dir / "wsdiff.log").string());
  return dir;
}

}  // namespace wsd

#include "core/checkpoint/checkpoint_directory.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <utility>

#include "core/util/errors.hpp"
#include "core/util/run_dir.hpp"

namespace wsd {

namespace fs = std::filesystem;

CheckpointDirectory::CheckpointDirectory(fs::path dir, int64_t keep_last)
    : dir_(std::move(dir)), keep_last_(keep_last) {}

std::vector<std::string> CheckpointDirectory::prepare() const {
  fs::create_directories(dir_);
  return remove_stale_temporaries(dir_.string());
}

std::string CheckpointDirectory::save(const Checkpoint& checkpoint, int64_t step) const {
  const fs::path path = step_path(step);
  save_checkpoint(checkpoint, path.string());
  // A hard link renamed over last.h5: readers see the old or the new file, never a partial one.
  const fs::path tmp = dir_ / "last.h5.tmp";
  fs::remove(tmp);
  fs::create_hard_link(path, tmp);
  fs::rename(tmp, last_path());
  const auto steps = step_files();
  for (size_t i = static_cast<size_t>(std::max<int64_t>(keep_last_, 0)); i < steps.size(); ++i) {
    fs::remove(steps[i].second);
  }
  return last_path().string();
}

void CheckpointDirectory::save_best(const Checkpoint& checkpoint, int64_t step,
                                    double val_loss) const {
  save_checkpoint(checkpoint, best_path().string());
  write_file_atomically(dir_ / "best.json",
                        nlohmann::json{{"step", step}, {"val_loss", val_loss}}.dump() + "\n");
}

std::optional<double> CheckpointDirectory::best_val_loss() const {
  const fs::path best = dir_ / "best.json";
  if (!fs::exists(best)) return std::nullopt;
  std::ifstream in(best);
  return nlohmann::json::parse(in).at("val_loss").get<double>();
}

std::vector<std::pair<int64_t, fs::path>> CheckpointDirectory::step_files() const {
  std::vector<std::pair<int64_t, fs::path>> found;
  const std::regex name(R"(step_(\d+)\.h5)");
  if (!fs::is_directory(dir_)) return found;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) found.emplace_back(std::stoll(m[1]), entry.path());
  }
  std::sort(found.rbegin(), found.rend());
  return found;
}

std::string CheckpointDirectory::newest_valid() const {
  std::vector<std::pair<int64_t, fs::path>> candidates;
  const fs::path last = last_path();
  std::string last_error;
  if (fs::exists(last)) {
    try {
      candidates.emplace_back(inspect_checkpoint(last.string()).state.step, last);
    } catch (const std::exception& e) {
      last_error = e.what();
      spdlog::warn("skipping unreadable checkpoint {}: {}", last.string(), e.what());
    }
  }
  for (const auto& [step, path] : step_files()) {
    if (!candidates.empty() && step <= candidates.front().first) break;
    try {
      inspect_checkpoint(path.string());
      candidates.insert(candidates.begin(), {step, path});
      break;
    } catch (const std::exception& e) {
      spdlog::warn("skipping unreadable checkpoint {}: {}", path.string(), e.what());
    }
  }
  if (candidates.empty() && !last_error.empty()) {
    throw InputError("--resume auto: " + last.string() + " cannot be read (" + last_error +
                     ") and no other checkpoint can; refusing to start over it: move it away, "
                     "or pass --resume with a checkpoint");
  }
  return candidates.empty() ? std::string() : candidates.front().second.string();
}

}  // namespace wsd

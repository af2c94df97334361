#include "core/checkpoint/checkpoint.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "core/io/atomic_file.hpp"
#include "core/io/h5_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/version.hpp"

namespace wsd {
namespace {

namespace fs = std::filesystem;

// The measured noise family's spectrum of a prior trained with it (Checkpoint).
constexpr const char* kMeasuredNoisePower = "/noise/measured_power";

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Every tensor carries a CRC-32 of its bytes (format version 2): a bit flip in the data, which
// HDF5 reads back silently, fails the load.
void write_state_dict(h5::File& file, const std::string& group, const StateDict& dict) {
  for (const auto& [name, tensor] : dict) {
    file.write_tensor(group + "/" + name, tensor, /*checksum=*/true);
  }
  file.set_attr(group, "count", static_cast<int64_t>(dict.size()));
}

// Names below a group, descending into sub-groups ("param/exp_avg").
void collect_datasets(const h5::File& file, const std::string& group, const std::string& prefix,
                      std::vector<std::string>& out) {
  for (const auto& name : file.list(group)) {
    const std::string full = group + "/" + name;
    if (file.is_group(full)) {
      collect_datasets(file, full, prefix + name + "/", out);
    } else {
      out.push_back(prefix + name);
    }
  }
}

bool has_checksums(const h5::File& file) { return file.attr_int("/", "format_version") >= 2; }

StateDict read_state_dict(const h5::File& file, const std::string& group) {
  StateDict dict;
  if (!file.exists(group)) return dict;
  std::vector<std::string> names;
  collect_datasets(file, group, "", names);
  if (file.has_attr(group, "count") &&
      file.attr_int(group, "count") != static_cast<int64_t>(names.size())) {
    throw InputError("checkpoint '" + file.path() + "': group " + group + " holds " +
                     std::to_string(names.size()) + " tensors, expected " +
                     std::to_string(file.attr_int(group, "count")) + " (incomplete file)");
  }
  const bool verify = has_checksums(file);
  for (const auto& name : names) {
    dict.emplace_back(name, file.read_tensor(group + "/" + name, verify));
  }
  return dict;
}

void check_format(const h5::File& file) {
  if (!file.has_attr("/", "format") || file.attr_string("/", "format") != kCheckpointFormat) {
    throw InputError("'" + file.path() + "' is an HDF5 file but not a wsdiff checkpoint");
  }
  const int64_t version = file.attr_int("/", "format_version");
  if (version > kCheckpointFormatVersion) {
    throw InputError("checkpoint '" + file.path() + "' has format version " +
                     std::to_string(version) + "; this wsdiff reads up to " +
                     std::to_string(kCheckpointFormatVersion));
  }
}

ModelInfo read_model_info(const h5::File& file) {
  ModelInfo info;
  if (!file.exists("/model")) return info;
  const auto unknown = [&](const std::string& attribute, const std::string& name,
                           const std::string& known) {
    return InputError("checkpoint '" + file.path() + "': /model " + attribute + " '" + name +
                      "' is not one of " + known + " (written by another wsdiff?)");
  };
  if (file.has_attr("/model", "type")) {
    const std::string name = file.attr_string("/model", "type");
    const auto type = parse_enum<ModelType>(name);
    if (!type) throw unknown("type", name, "ddpm_unet, gaussian");
    info.type = *type;
  }
  if (file.has_attr("/model", "parameterisation")) {
    const std::string name = file.attr_string("/model", "parameterisation");
    if (name == "velocity") {
      info.process = ProcessType::kFlow;
    } else if (const auto p = parse_enum<Parameterisation>(name)) {
      info.parameterisation = *p;
    } else if (name != "exact" || info.type != ModelType::kGaussian) {
      throw unknown("parameterisation", name,
                    "noise, ws, edm, velocity (flow), exact (gaussian prior)");
    }
  }
  if (file.has_attr("/model", "score_sign"))
    info.score_sign = file.attr_int("/model", "score_sign");
  return info;
}

TrainState read_train_state(const h5::File& file, bool with_rng) {
  TrainState state;
  const std::string g = "/train_state";
  if (!file.exists(g)) return state;
  state.step = file.attr_int(g, "step");
  state.epoch = file.attr_int(g, "epoch");
  state.data_position = file.attr_int(g, "data_position");
  state.images_seen = file.attr_int(g, "images_seen");
  if (with_rng && file.exists(g + "/rng")) {
    const int64_t ranks = file.attr_int(g, "ranks");
    const bool verify = has_checksums(file);
    for (int64_t r = 0; r < ranks; ++r) {
      state.rng_states.push_back(file.read_bytes(g + "/rng/rank_" + std::to_string(r), verify));
    }
  }
  return state;
}

template <typename Fn>
auto with_input_errors(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const h5::H5Error& e) {
    throw InputError(std::string("cannot read checkpoint: ") + e.what());
  }
}

}  // namespace

std::string ModelInfo::parameterisation_name() const {
  if (type == ModelType::kGaussian) return "exact";
  if (process == ProcessType::kFlow) return "velocity";
  return std::string(enum_name(parameterisation));
}

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  // The file is assembled in memory and written with plain writes (h5::File::create_in_memory).
  std::vector<uint8_t> bytes;
  {
    h5::File file = h5::File::create_in_memory(path);
    file.set_attr("/", "format", std::string(kCheckpointFormat));
    file.set_attr("/", "format_version", kCheckpointFormatVersion);
    file.set_attr("/", "wsdiff_version", std::string(kVersion));
    file.set_attr("/", "created", utc_now());
    file.set_attr("/", "config", checkpoint.config_yaml);
    if (!checkpoint.provenance_json.empty())
      file.set_attr("/", "provenance", checkpoint.provenance_json);

    write_state_dict(file, "/model", checkpoint.model);
    file.set_attr("/model", "type", std::string(enum_name(checkpoint.model_info.type)));
    file.set_attr("/model", "parameterisation", checkpoint.model_info.parameterisation_name());
    file.set_attr("/model", "score_sign", checkpoint.model_info.score_sign);
    if (!checkpoint.ema.empty()) write_state_dict(file, "/ema", checkpoint.ema);
    if (!checkpoint.optimizer.empty()) write_state_dict(file, "/optimizer", checkpoint.optimizer);
    if (checkpoint.measured_noise_power.defined()) {
      file.write_tensor(kMeasuredNoisePower, checkpoint.measured_noise_power, /*checksum=*/true);
      file.set_attr(kMeasuredNoisePower, "width", checkpoint.measured_noise_width);
    }

    const TrainState& s = checkpoint.state;
    const std::string g = "/train_state";
    file.set_attr(g, "step", s.step);
    file.set_attr(g, "epoch", s.epoch);
    file.set_attr(g, "data_position", s.data_position);
    file.set_attr(g, "images_seen", s.images_seen);
    file.set_attr(g, "ranks", static_cast<int64_t>(s.rng_states.size()));
    for (size_t r = 0; r < s.rng_states.size(); ++r) {
      file.write_bytes(g + "/rng/rank_" + std::to_string(r), s.rng_states[r], /*checksum=*/true);
    }
    // The marker is written last: a file without it was not finished.
    file.set_attr("/", "complete", static_cast<int64_t>(1));
    bytes = file.image();
  }
  write_file_atomically(path, bytes, "checkpoint", TemporaryName::kProcessId);
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(kTemporaryInfix);
    if (at == std::string::npos || !entry.is_regular_file()) continue;
    const std::string digits = name.substr(at + std::strlen(kTemporaryInfix));
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stoll(digits));
    // A live writer (this process, or another run's on a shared folder) keeps its file.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path().string());
  }
  return removed;
}

namespace {

// A checkpoint file opened for reading, its format checked and its write known complete.
h5::File open_complete(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  check_format(file);
  if (!file.has_attr("/", "complete")) {
    throw InputError("checkpoint '" + path + "' was not completely written");
  }
  return file;
}

std::string provenance_of(const h5::File& file) {
  return file.has_attr("/", "provenance") ? file.attr_string("/", "provenance") : std::string();
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  return with_input_errors([&] {
    const h5::File file = open_complete(path);
    Checkpoint checkpoint;
    checkpoint.config_yaml = file.attr_string("/", "config");
    checkpoint.model_info = read_model_info(file);
    checkpoint.model = read_state_dict(file, "/model");
    checkpoint.ema = read_state_dict(file, "/ema");
    checkpoint.optimizer = read_state_dict(file, "/optimizer");
    checkpoint.state = read_train_state(file, /*with_rng=*/true);
    checkpoint.provenance_json = provenance_of(file);
    if (file.exists(kMeasuredNoisePower)) {
      checkpoint.measured_noise_power = file.read_tensor(kMeasuredNoisePower, has_checksums(file));
      checkpoint.measured_noise_width = file.attr_int(kMeasuredNoisePower, "width");
    }
    return checkpoint;
  });
}

CheckpointSummary inspect_checkpoint(const std::string& path) {
  return with_input_errors([&] {
    const h5::File file = open_complete(path);
    CheckpointSummary summary;
    summary.format_version = file.attr_int("/", "format_version");
    summary.wsdiff_version = file.attr_string("/", "wsdiff_version");
    summary.created = file.attr_string("/", "created");
    summary.config_yaml = file.attr_string("/", "config");
    summary.model_info = read_model_info(file);
    summary.state = read_train_state(file, /*with_rng=*/false);
    summary.has_ema = file.exists("/ema");
    summary.has_optimizer = file.exists("/optimizer");
    summary.provenance_json = provenance_of(file);
    // Reading every tensor also proves the file is intact, which is what `info` is asked for.
    std::set<std::string> dtypes;
    for (const auto& [name, tensor] : read_state_dict(file, "/model")) {
      summary.parameter_count += tensor.numel();
      dtypes.insert(c10::toString(tensor.scalar_type()));
      ++summary.model_tensors;
    }
    summary.dtypes.assign(dtypes.begin(), dtypes.end());
    read_state_dict(file, "/ema");
    read_state_dict(file, "/optimizer");
    read_train_state(file, /*with_rng=*/true);
    if (file.exists(kMeasuredNoisePower))
      file.read_tensor(kMeasuredNoisePower, has_checksums(file));
    summary.checksums_verified = has_checksums(file);
    return summary;
  });
}

void upgrade_checkpoint(const std::string& from, const std::string& to) {
  save_checkpoint(load_checkpoint(from), to);
}

}  // namespace wsd

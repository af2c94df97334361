#include "core/checkpoint/prior_safetensors.hpp"

#include <nlohmann/json.hpp>

#include "core/io/safetensors_file.hpp"
#include "core/util/errors.hpp"
#include "core/util/version.hpp"

namespace wsd {
namespace {

// Model-card "weights" of an export says which weights of the run these are; a checkpoint made
// another way (an import) holds its one set of weights as "model".
std::string weights_of(const Checkpoint& prior) {
  const auto card = nlohmann::json::parse(prior.provenance_json, nullptr, false);
  if (card.is_object() && card.contains("weights") && card["weights"].is_string()) {
    return card["weights"].get<std::string>();
  }
  return "model";
}

ModelInfo parse_model_info(const SafetensorsMetadata& m, const std::string& path) {
  const auto unknown = [&](const std::string& key, const std::string& value,
                           const std::string& known) {
    return InputError("'" + path + "': metadata " + key + " '" + value + "' is not one of " +
                      known + " (written by another wsdiff?)");
  };
  ModelInfo info;
  const std::string type = m.at("wsdiff.model.type");
  const auto parsed_type = parse_enum<ModelType>(type);
  if (!parsed_type || *parsed_type != ModelType::kDdpmUnet) {
    throw unknown("wsdiff.model.type", type, "ddpm_unet");
  }
  info.type = *parsed_type;
  const std::string p = m.at("wsdiff.model.parameterisation");
  if (p == "velocity") {
    info.process = ProcessType::kFlow;
  } else if (const auto parsed = parse_enum<Parameterisation>(p)) {
    info.parameterisation = *parsed;
  } else {
    throw unknown("wsdiff.model.parameterisation", p, "noise, ws, edm, velocity");
  }
  const std::string sign = m.at("wsdiff.model.score_sign");
  if (sign != "1" && sign != "-1") throw unknown("wsdiff.model.score_sign", sign, "1, -1");
  info.score_sign = sign == "1" ? 1 : -1;
  return info;
}

}  // namespace

void save_prior_safetensors(const Checkpoint& prior, const std::string& path) {
  if (prior.model_info.type != ModelType::kDdpmUnet) {
    throw InputError("'" + path + "': a safetensors prior holds a network; a " +
                     std::string(enum_name(prior.model_info.type)) + " prior needs the .h5 format");
  }
  if (prior.measured_noise_power.defined()) {
    throw InputError("'" + path +
                     "': the prior's measured noise spectrum has no place among a safetensors "
                     "file's network weights; export it as .h5, which carries the spectrum");
  }
  const nlohmann::json train_state = {{"step", prior.state.step},
                                      {"epoch", prior.state.epoch},
                                      {"images_seen", prior.state.images_seen}};
  const SafetensorsMetadata metadata = {
      {"format", "pt"},
      {"wsdiff.format", kPriorSafetensorsFormat},
      {"wsdiff.format_version", std::to_string(kPriorSafetensorsFormatVersion)},
      {"wsdiff.version", kVersion},
      {"wsdiff.weights", weights_of(prior)},
      {"wsdiff.model.type", std::string(enum_name(prior.model_info.type))},
      {"wsdiff.model.parameterisation", prior.model_info.parameterisation_name()},
      {"wsdiff.model.score_sign", std::to_string(prior.model_info.score_sign)},
      {"wsdiff.config", prior.config_yaml},
      {"wsdiff.model_card", prior.provenance_json.empty() ? "{}" : prior.provenance_json},
      {"wsdiff.train_state", train_state.dump()}};
  write_safetensors(path, prior.model, metadata);
}

SafetensorsPrior load_prior_safetensors(const std::string& path) {
  SafetensorsContents contents = read_safetensors(path);
  SafetensorsPrior out;
  out.weights = std::move(contents.tensors);
  const SafetensorsMetadata& m = contents.metadata;
  const auto format = m.find("wsdiff.format");
  if (format == m.end()) return out;
  if (format->second != kPriorSafetensorsFormat) {
    throw InputError("'" + path + "': metadata wsdiff.format is '" + format->second + "', not " +
                     kPriorSafetensorsFormat);
  }
  for (const char* key :
       {"wsdiff.format_version", "wsdiff.model.type", "wsdiff.model.parameterisation",
        "wsdiff.model.score_sign", "wsdiff.config"}) {
    if (m.count(key) == 0) throw InputError("'" + path + "': metadata has no " + key);
  }
  const std::string& version = m.at("wsdiff.format_version");
  if (version != std::to_string(kPriorSafetensorsFormatVersion)) {
    throw InputError("'" + path + "' has wsdiff prior format version '" + version +
                     "'; this wsdiff reads version " +
                     std::to_string(kPriorSafetensorsFormatVersion));
  }
  out.has_wsdiff_metadata = true;
  out.prior.model_info = parse_model_info(m, path);
  out.prior.config_yaml = m.at("wsdiff.config");
  if (const auto card = m.find("wsdiff.model_card"); card != m.end() && card->second != "{}") {
    out.prior.provenance_json = card->second;
  }
  if (const auto it = m.find("wsdiff.train_state"); it != m.end()) {
    const auto state = nlohmann::json::parse(it->second, nullptr, false);
    // Informative only (the step `wsdiff info` shows): a field that is not a count reads as 0.
    const auto count = [&](const char* key) {
      return state.is_object() && state.contains(key) && state[key].is_number_integer()
                 ? state[key].get<int64_t>()
                 : int64_t{0};
    };
    out.prior.state.step = count("step");
    out.prior.state.epoch = count("epoch");
    out.prior.state.images_seen = count("images_seen");
  }
  out.prior.model = out.weights;
  return out;
}

}  // namespace wsd

#pragma once

// Config sections as JSON objects, key for key from the same schema tables as the YAML writer
// (core/config/config_schema.hpp): reports that record what ran (`wsdiff bench --json`) list
// every key of a section, so runs with different settings never look alike.

#include <nlohmann/json.hpp>

#include "core/config/config_types.hpp"

namespace wsd {

nlohmann::ordered_json to_json(const NoiseConfig& section);
nlohmann::ordered_json to_json(const ModelConfig& section);
nlohmann::ordered_json to_json(const SamplerConfig& section);
nlohmann::ordered_json to_json(const TaskConfig& section);

}  // namespace wsd

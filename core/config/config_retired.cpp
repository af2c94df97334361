#include "core/config/config_retired.hpp"

#include <array>

#include "core/config/config_error.hpp"

namespace wsd {
namespace {

struct RetiredKey {
  const char* key;
  bool (*unset)(const YAML::Node& value);
  const char* replacement;
};

bool is_zero(const YAML::Node& value) {
  double number = 1.0;
  return value.IsScalar() && YAML::convert<double>::decode(value, number) && number == 0.0;
}

bool is_false(const YAML::Node& value) {
  bool flag = true;
  return value.IsScalar() && YAML::convert<bool>::decode(value, flag) && !flag;
}

constexpr const char* kFixedWeight =
    "a prior method's data weight is sampler.lambda when eval.lambda_grid is empty; to fix it for "
    "one method, evaluate that method alone (eval.methods) with eval.lambda_grid: [] and "
    "sampler.lambda";

constexpr std::array<RetiredKey, 4> kRetired{{
    {"eval.ws_lambda", is_zero, kFixedWeight},
    {"eval.conventional_lambda", is_zero, kFixedWeight},
    {"eval.gaussian_lambda", is_zero, kFixedWeight},
    {"eval.report_auto_lambda", is_false,
     "to report the discrepancy principle's weight, evaluate again with sampler.lambda: auto and "
     "eval.lambda_grid: []"},
}};

}  // namespace

bool accept_retired_key(const std::string& key, const YAML::Node& value, const std::string& where) {
  for (const auto& retired : kRetired) {
    if (key != retired.key) continue;
    if (retired.unset(value)) return true;
    throw ConfigError(where, "",
                      "'" + key + "' no longer exists: " + std::string(retired.replacement));
  }
  return false;
}

}  // namespace wsd

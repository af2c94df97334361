#include "cli/command.hpp"

#include <string>

namespace wsd::cli {

void add_config_options(CLI::App* app, ConfigOptions& options) {
  app->add_option("-c,--config", options.config_path,
                  "YAML config file (defaults apply to what it omits)");
  app->add_option("--set", options.overrides,
                  "override one config value, e.g. --set train.lr=1e-4 (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
}

CLI::Validator at_least(int64_t minimum) {
  const std::string bound = std::to_string(minimum);
  return CLI::Validator(
      [minimum, bound](std::string& input) -> std::string {
        size_t used = 0;
        double value = 0;
        try {
          value = std::stod(input, &used);
        } catch (const std::exception&) {
          return {};  // not a number: the conversion to the option's type says so
        }
        if (used != input.size() || value >= static_cast<double>(minimum)) return {};
        return "must be at least " + bound + ", got " + input;
      },
      "AT LEAST " + bound);
}

}  // namespace wsd::cli

#include "cli/command.hpp"

namespace wsd::cli {

void add_config_options(CLI::App* app, ConfigOptions& options) {
  app->add_option("-c,--config", options.config_path,
                  "YAML config file (defaults apply to what it omits)");
  app->add_option("--set", options.overrides,
                  "override one config value, e.g. --set train.lr=1e-4 (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
}

}  // namespace wsd::cli

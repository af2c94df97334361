// Subcommands whose engines are not in this version yet. They already accept and validate their
// config so that scripts written against them fail early and clearly.
#include <memory>
#include <stdexcept>

#include "cli/command.hpp"
#include "core/config/config_loader.hpp"

namespace wsd::cli {
namespace {

Command pending(CLI::App& root, const std::string& name, const std::string& description) {
  auto* app = root.add_subcommand(name, description);
  auto config = std::make_shared<ConfigOptions>();
  auto out = std::make_shared<std::string>();
  add_config_options(app, *config);
  app->add_option("-o,--out", *out, "output path");
  return {app, [=]() -> int {
            load_config(config->config_path, config->overrides);
            throw std::runtime_error("'wsdiff " + name + "' is not available in this version yet");
          }};
}

}  // namespace

Command add_simulate_command(CLI::App& root, const GlobalOptions&) {
  return pending(root, "simulate", "Simulate measurements y = A x + b for a task");
}
Command add_solve_command(CLI::App& root, const GlobalOptions&) {
  return pending(root, "solve", "Reconstruct images from measurements with a prior");
}
Command add_eval_command(CLI::App& root, const GlobalOptions&) {
  return pending(root, "eval", "Evaluate methods on benchmark tasks (PSNR/SSIM)");
}
}  // namespace wsd::cli

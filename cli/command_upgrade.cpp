// `wsdiff upgrade`: rewrites a checkpoint of an older format version in the current one.
#include <spdlog/spdlog.h>

#include <string>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/checkpoint/checkpoint.hpp"

namespace wsd::cli {

Command add_upgrade_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand(
      "upgrade", "Rewrite a checkpoint in the current format (adds per-tensor checksums)");
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  app->add_option("checkpoint", *from, "checkpoint file (.h5) of any earlier format version")
      ->required();
  app->add_option("-o,--out", *to, "where to write it (default: in place)");
  return {app, [=]() {
            const std::string out = to->empty() ? *from : *to;
            ensure_writable_file(out, "--out");
            const auto before = inspect_checkpoint(*from).format_version;
            upgrade_checkpoint(*from, out);
            spdlog::info("{} (format v{}) -> {} (format v{}, checksums verified on every load)",
                         *from, before, out, kCheckpointFormatVersion);
            return 0;
          }};
}

}  // namespace wsd::cli

// The wsdiff executable: parses the command line and hands over to the libraries.
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/stop_signal.hpp"
#include "core/config/config_error.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"
#include "core/util/logging.hpp"
#include "core/util/version.hpp"

namespace {

using wsd::ExitCode;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

int fail(const std::string& prefix, const std::string& message, ExitCode code) {
  std::cerr << prefix << first_line(message) << "\n";
  return static_cast<int>(code);
}

// The first word of the command line that is not a top-level option or its value: what the user
// meant as the subcommand.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--log-level") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] != '-') return arg;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  wsd::configure_cpu_numerics();
  // A file-size limit (ulimit -f) then fails a write with EFBIG, reported like a full disk,
  // instead of killing the process in the middle of it.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"wsdiff: Whitened Score diffusion priors for imaging inverse problems", "wsdiff"};
  app.set_version_flag("--version", std::string("wsdiff ") + wsd::kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  wsd::cli::GlobalOptions global;
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  const std::vector<wsd::cli::Command> commands = {
      wsd::cli::add_train_command(app, global),   wsd::cli::add_sample_command(app, global),
      wsd::cli::add_noise_command(app, global),   wsd::cli::add_simulate_command(app, global),
      wsd::cli::add_pack_command(app, global),    wsd::cli::add_solve_command(app, global),
      wsd::cli::add_eval_command(app, global),    wsd::cli::add_bench_command(app, global),
      wsd::cli::add_info_command(app, global),    wsd::cli::add_import_command(app, global),
      wsd::cli::add_predict_command(app, global), wsd::cli::add_export_command(app, global),
      wsd::cli::add_upgrade_command(app, global),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Name the subcommand whose options failed, as every other error does.
    for (const auto& command : commands) {
      if (command.app->parsed()) {
        const std::string name = command.app->get_name();
        return fail("wsdiff " + name + ": error: ",
                    std::string(e.what()) + " (run 'wsdiff " + name + " --help')",
                    ExitCode::kUsageError);
      }
    }
    // A word that is no subcommand: name it and the commands there are.
    if (const std::string word = first_word(argc, argv); !word.empty()) {
      std::string names;
      for (const auto& command : commands) {
        names += (names.empty() ? "" : ", ") + command.app->get_name();
      }
      return fail(
          "wsdiff: error: ",
          "unknown subcommand '" + word + "'; the commands are " + names + " (run 'wsdiff --help')",
          ExitCode::kUsageError);
    }
    return fail("wsdiff: error: ", std::string(e.what()) + " (run 'wsdiff --help')",
                ExitCode::kUsageError);
  }

  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    // Training polls stop requests (stop_signal.hpp); every other command ends on them.
    if (command.app->get_name() != "train") wsd::cli::restore_default_stop_signals();
    const std::string prefix = "wsdiff " + command.app->get_name() + ": error: ";
    try {
      wsd::init_logging({global.log_level, 0, 1});
      return command.run();
    } catch (const wsd::ConfigError& e) {
      return fail(prefix, e.what(), ExitCode::kUsageError);
    } catch (const wsd::InputError& e) {
      return fail(prefix, e.what(), ExitCode::kUsageError);
    } catch (const c10::Error& e) {
      return fail(prefix, e.what_without_backtrace(), ExitCode::kRuntimeFailure);
    } catch (const std::exception& e) {
      return fail(prefix, e.what(), ExitCode::kRuntimeFailure);
    }
  }
  return fail("wsdiff: ", "no subcommand given (run 'wsdiff --help')", ExitCode::kUsageError);
}

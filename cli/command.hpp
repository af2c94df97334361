#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace wsd::cli {

// A subcommand: CLI11 parses its options into captured state, then `run` does the work and
// returns the exit code. Errors are thrown and mapped to exit codes in one place (main).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Options shared by every subcommand that reads a config.
struct ConfigOptions {
  std::string config_path;
  std::vector<std::string> overrides;
};
void add_config_options(CLI::App* app, ConfigOptions& options);

// A lower bound for a count option ("--n: must be at least 1, got 0"); CLI11's PositiveNumber
// would print the largest double as the upper end of its range.
CLI::Validator at_least(int64_t minimum);

// Top-level options, visible to every command.
struct GlobalOptions {
  std::string log_level = "info";
};

// One registration function per subcommand, each in its own file.
Command add_train_command(CLI::App& root, const GlobalOptions& global);
Command add_sample_command(CLI::App& root, const GlobalOptions& global);
Command add_noise_command(CLI::App& root, const GlobalOptions& global);
Command add_simulate_command(CLI::App& root, const GlobalOptions& global);
Command add_pack_command(CLI::App& root, const GlobalOptions& global);
Command add_solve_command(CLI::App& root, const GlobalOptions& global);
Command add_eval_command(CLI::App& root, const GlobalOptions& global);
Command add_bench_command(CLI::App& root, const GlobalOptions& global);
Command add_info_command(CLI::App& root, const GlobalOptions& global);
Command add_import_command(CLI::App& root, const GlobalOptions& global);
Command add_predict_command(CLI::App& root, const GlobalOptions& global);
Command add_export_command(CLI::App& root, const GlobalOptions& global);
Command add_upgrade_command(CLI::App& root, const GlobalOptions& global);

}  // namespace wsd::cli

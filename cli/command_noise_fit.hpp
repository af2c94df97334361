#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.hpp"

namespace wsd::cli {

// `wsdiff noise fit`: registered below the `noise` command, which runs it when it was parsed.
Command add_noise_fit_command(CLI::App& noise);

}  // namespace wsd::cli

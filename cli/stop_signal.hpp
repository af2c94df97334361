#pragma once

// Stop requests (SIGTERM, SIGINT) for the whole process. Loading the torch libraries takes a
// large part of a second before main runs; a stop signal in that time (a job cancelled just
// after it started) would kill a training run with the default action. The handler is therefore
// installed before any shared library's initialiser runs (from the executable's ELF
// .preinit_array), and only records the request.

#include <atomic>

namespace wsd::cli {

// Set once a stop signal has arrived: training polls it, finishes its step, checkpoints and
// exits (torchrun forwards SIGTERM and kills 30 s later; SLURM's grace period is similar).
const std::atomic<bool>& stop_requested();

// For the commands that do not poll stop_requested(): the default actions again, and a stop
// that arrived during start-up is delivered now (the process ends as the signal says).
void restore_default_stop_signals();

}  // namespace wsd::cli

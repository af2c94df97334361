#include "cli/stop_signal.hpp"

#include <signal.h>

namespace wsd::cli {
namespace {

// Constant-initialised, so valid before any constructor has run; lock-free, so safe to set
// from a signal handler.
std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_signal = 0;

extern "C" void record_stop(int signal_number) {
  g_signal = signal_number;
  g_stop.store(true);
}

void install_stop_handlers(int, char**, char**) {
  struct sigaction action {};
  action.sa_handler = record_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

// Functions in .preinit_array run after the dynamic loader has mapped the libraries and before
// any of their initialisers.
__attribute__((section(".preinit_array"),
               used)) void (*const kInstallEarly)(int, char**, char**) = install_stop_handlers;

}  // namespace

const std::atomic<bool>& stop_requested() { return g_stop; }

void restore_default_stop_signals() {
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  if (g_stop.load()) ::raise(g_signal);
}

}  // namespace wsd::cli

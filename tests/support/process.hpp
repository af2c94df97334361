#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace wsd::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Starts `argv` with extra environment variables, waits up to `timeout` and captures output.
struct ProcessSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::chrono::seconds timeout{120};
};

// Runs several processes at once (the ranks of one job) and returns their results in order.
std::vector<ProcessResult> run_processes(const std::vector<ProcessSpec>& specs);
ProcessResult run_process(const ProcessSpec& spec);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// This test executable's own path, to re-run it as a child process.
std::string self_executable();

// The wsdiff executable under test (the WSDIFF_BIN environment variable set by CTest).
std::string wsdiff_binary();

// Runs `wsdiff ARGS...` with extra environment variables and captures its output.
ProcessResult run_wsdiff(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(240));

}  // namespace wsd::test

#include "tests/support/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace wsd::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Running {
  pid_t pid = -1;
  std::string out_path, err_path;
};

Running start(const ProcessSpec& spec, int index) {
  char tmpl[] = "/tmp/wsd-proc-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  Running r;
  r.out_path = dir + "/out" + std::to_string(index);
  r.err_path = dir + "/err" + std::to_string(index);
  r.pid = fork();
  if (r.pid < 0) throw std::runtime_error("fork failed");
  if (r.pid == 0) {
    const int out = open(r.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(r.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    for (const auto& [key, value] : spec.env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return r;
}

}  // namespace

std::vector<ProcessResult> run_processes(const std::vector<ProcessSpec>& specs) {
  std::vector<Running> running;
  for (size_t i = 0; i < specs.size(); ++i) running.push_back(start(specs[i], static_cast<int>(i)));
  std::vector<ProcessResult> results(specs.size());
  std::vector<bool> done(specs.size(), false);
  const auto begin = std::chrono::steady_clock::now();
  size_t remaining = specs.size();
  while (remaining > 0) {
    for (size_t i = 0; i < specs.size(); ++i) {
      if (done[i]) continue;
      int status = 0;
      const bool expired = std::chrono::steady_clock::now() - begin > specs[i].timeout;
      if (expired) kill(running[i].pid, SIGKILL);
      const pid_t got = waitpid(running[i].pid, &status, expired ? 0 : WNOHANG);
      if (got == 0) continue;
      done[i] = true;
      --remaining;
      results[i].timed_out = expired;
      results[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      results[i].out = slurp(running[i].out_path);
      results[i].err = slurp(running[i].err_path);
      // The capture files live in a directory of their own: leave nothing behind in /tmp.
      std::filesystem::remove_all(std::filesystem::path(running[i].out_path).parent_path());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return results;
}

ProcessResult run_process(const ProcessSpec& spec) { return run_processes({spec}).front(); }

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot resolve /proc/self/exe");
  return std::string(buf, static_cast<size_t>(n));
}

std::string wsdiff_binary() {
  const char* bin = std::getenv("WSDIFF_BIN");
  if (bin == nullptr)
    throw std::runtime_error("WSDIFF_BIN is not set (run the tests through ctest)");
  return bin;
}

ProcessResult run_wsdiff(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         std::chrono::seconds timeout) {
  ProcessSpec spec;
  spec.argv = {wsdiff_binary()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  spec.timeout = timeout;
  return run_process(spec);
}

}  // namespace wsd::test

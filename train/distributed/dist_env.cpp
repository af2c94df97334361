#include "train/distributed/dist_env.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <optional>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int env_int(const char* name, int fallback, int min_value) {
  const auto text = env(name);
  if (!text) return fallback;
  try {
    size_t used = 0;
    const int value = std::stoi(*text, &used);
    if (used == text->size() && value >= min_value) return value;
  } catch (const std::exception&) {
  }
  throw InputError(std::string("environment variable ") + name + "='" + *text +
                   "' is not an integer >= " + std::to_string(min_value));
}

}  // namespace

DistEnv read_dist_env() {
  DistEnv e;
  if (env("RANK") || env("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.rank = env_int("RANK", 0, 0);
    e.world_size = env_int("WORLD_SIZE", 1, 1);
    e.local_rank = env_int("LOCAL_RANK", 0, 0);
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = env_int("SLURM_PROCID", 0, 0);
    e.world_size = env_int("SLURM_NTASKS", 1, 1);
    e.local_rank = env_int("SLURM_LOCALID", 0, 0);
  }
  if (e.rank >= e.world_size) {
    throw InputError("rank " + std::to_string(e.rank) + " is not below world size " +
                     std::to_string(e.world_size));
  }
  if (const auto addr = env("MASTER_ADDR")) {
    e.master_addr = *addr;
  } else if (e.world_size > 1) {
    throw InputError("MASTER_ADDR is not set: a " + e.launcher +
                     " launch of several processes needs the address of rank 0's host");
  }
  e.master_port = env_int("MASTER_PORT", 29500, 1);
  if (e.master_port > 65535) throw InputError("MASTER_PORT is not a TCP port");
  e.agent_hosts_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  return e;
}

void check_master_address(const DistEnv& env) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(env.master_addr.c_str(), nullptr, &hints, &found);
  if (found != nullptr) ::freeaddrinfo(found);
  if (status != 0) {
    throw InputError("MASTER_ADDR '" + env.master_addr + "' does not resolve on rank " +
                     std::to_string(env.rank) + ": " + ::gai_strerror(status));
  }
}

}  // namespace wsd

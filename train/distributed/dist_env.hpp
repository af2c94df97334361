#pragma once

#include <string>

namespace wsd {

// Where this process sits in a multi-process job, read from the launcher's environment:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or SLURM (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID, with MASTER_ADDR/MASTER_PORT exported by the batch script).
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "single";  // single | torchrun | slurm
  // torchrun's agent already hosts the TCPStore at MASTER_ADDR:MASTER_PORT; then rank 0 must
  // connect as a client instead of starting a server (TORCHELASTIC_USE_AGENT_STORE=True).
  bool agent_hosts_store = false;

  bool distributed() const { return world_size > 1; }
};

// Throws InputError naming the variable when a value is malformed or inconsistent.
DistEnv read_dist_env();

// Throws InputError naming MASTER_ADDR when the address does not resolve (a typo in a launch
// script): c10d would otherwise print pages of stack frames before failing.
void check_master_address(const DistEnv& env);

}  // namespace wsd

#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "train/distributed/dist_env.hpp"

namespace wsd {

// A collective in flight. wait() blocks until its result is in place and throws a clear
// std::runtime_error (naming the operation, backend and rank) when a peer died or timed out.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

// Collective operations over a c10d process group: Gloo for CPU tensors, NCCL for CUDA tensors.
// A world of one process needs no group; every operation is then the identity.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;
  // In-place sum over ranks; all tensors must live on the communicator's device.
  virtual void allreduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  // Starts an in-place sum of one tensor over ranks and returns at once. Every rank must start
  // its asynchronous collectives in the same order.
  virtual std::unique_ptr<PendingCollective> allreduce_sum_async(torch::Tensor tensor) = 0;
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  virtual void barrier() = 0;
};

// Rendezvous through a TCPStore at env.master_addr:env.master_port. A collective that does not
// complete within `timeout` (a dead or stuck rank) throws instead of hanging.
std::shared_ptr<Communicator> make_communicator(const DistEnv& env, const torch::Device& device,
                                                std::chrono::milliseconds timeout);

}  // namespace wsd

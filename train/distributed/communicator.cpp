#include "train/distributed/communicator.hpp"

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef WSD_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef WSD_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cstdlib>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

class Done final : public PendingCollective {
 public:
  void wait() override {}
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::runtime_error collective_error(const char* what, const std::string& backend, int rank,
                                    const std::exception& e) {
  return std::runtime_error(std::string(what) + " over " + backend + " failed on rank " +
                            std::to_string(rank) +
                            " (another rank died, hung or timed out): " + first_line(e.what()));
}

class PendingWork final : public PendingCollective {
 public:
  PendingWork(c10::intrusive_ptr<c10d::Work> work, std::string backend, int rank)
      : work_(std::move(work)), backend_(std::move(backend)), rank_(rank) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      throw collective_error("allreduce", backend_, rank_, e);
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::string backend_;
  int rank_;
};

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "none"; }
  void allreduce_sum(std::vector<torch::Tensor>&) override {}
  std::unique_ptr<PendingCollective> allreduce_sum_async(torch::Tensor) override {
    return std::make_unique<Done>();
  }
  void broadcast(std::vector<torch::Tensor>&, int) override {}
  void barrier() override {}
};

class ProcessGroupCommunicator final : public Communicator {
 public:
  ProcessGroupCommunicator(c10::intrusive_ptr<c10d::Backend> backend, std::string name)
      : backend_(std::move(backend)), name_(std::move(name)) {}
  int rank() const override { return backend_->getRank(); }
  int world_size() const override { return backend_->getSize(); }
  std::string backend() const override { return name_; }

  void allreduce_sum(std::vector<torch::Tensor>& tensors) override {
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    // A c10d collective takes tensors of one dtype; mixed lists go as one call per dtype.
    for (auto& group : by_dtype(tensors)) wait(backend_->allreduce(group, opts), "allreduce");
  }
  std::unique_ptr<PendingCollective> allreduce_sum_async(torch::Tensor tensor) override {
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    std::vector<torch::Tensor> one = {std::move(tensor)};
    return std::make_unique<PendingWork>(backend_->allreduce(one, opts), name_, rank());
  }
  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    for (auto& group : by_dtype(tensors)) wait(backend_->broadcast(group, opts), "broadcast");
  }
  void barrier() override { wait(backend_->barrier(), "barrier"); }

 private:
  // Groups share storage with the caller's tensors, so in-place results land in them.
  static std::vector<std::vector<torch::Tensor>> by_dtype(
      const std::vector<torch::Tensor>& tensors) {
    std::vector<std::vector<torch::Tensor>> groups;
    for (const auto& t : tensors) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
        return g.front().scalar_type() == t.scalar_type();
      });
      if (it == groups.end()) {
        groups.push_back({t});
      } else {
        it->push_back(t);
      }
    }
    return groups;
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw collective_error(what, name_, rank(), e);
    }
  }

  c10::intrusive_ptr<c10d::Backend> backend_;
  std::string name_;
};

c10::intrusive_ptr<c10d::Store> connect_store(const DistEnv& env,
                                              std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = env.rank == 0 && !env.agent_hosts_store;
  options.numWorkers = env.world_size;
  options.timeout = timeout;
  check_master_address(env);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    return c10::make_intrusive<c10d::PrefixStore>("wsdiff", store);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw std::runtime_error("rendezvous at " + env.master_addr + ":" +
                             std::to_string(env.master_port) + " failed on rank " +
                             std::to_string(env.rank) + ": " + what.substr(0, what.find('\n')));
  }
}

#ifdef WSD_WITH_GLOO
c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store,
                                            const DistEnv& env, std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = timeout;
  // Same variable as PyTorch's: pin the interface on hosts with several networks.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
}
#endif

#ifdef WSD_WITH_CUDA
c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store,
                                            const DistEnv& env, std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, options);
}
#endif

}  // namespace

std::shared_ptr<Communicator> make_communicator(const DistEnv& env, const torch::Device& device,
                                                std::chrono::milliseconds timeout) {
  if (!env.distributed()) return std::make_shared<SingleProcess>();
  if (device.is_cuda()) {
#ifdef WSD_WITH_CUDA
    auto store = connect_store(env, timeout);
    return std::make_shared<ProcessGroupCommunicator>(make_nccl(store, env, timeout), "nccl");
#else
    throw InputError("distributed CUDA training needs a build with -DWSD_WITH_CUDA=ON (NCCL)");
#endif
  }
#ifdef WSD_WITH_GLOO
  auto store = connect_store(env, timeout);
  return std::make_shared<ProcessGroupCommunicator>(make_gloo(store, env, timeout), "gloo");
#else
  throw InputError("distributed CPU training needs a build with -DWSD_WITH_GLOO=ON");
#endif
}

}  // namespace wsd

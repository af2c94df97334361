#include "train/distributed/consistency_check.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace wsd {

std::vector<double> parameter_divergence(Communicator& communicator, torch::nn::Module& module) {
  const int world = communicator.world_size();
  if (world == 1) return {0.0};
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> views;
  for (const auto& p : module.parameters())
    views.push_back(p.detach().reshape({-1}).to(torch::kFloat32));
  const auto mine = torch::cat(views);
  std::vector<torch::Tensor> reference = {mine.clone()};
  communicator.broadcast(reference, 0);
  // NaN compares as divergence too.
  const auto diff = (mine - reference[0]).abs().nan_to_num(INFINITY).max().to(torch::kFloat64);
  std::vector<torch::Tensor> per_rank = {torch::zeros({world}, diff.options())};
  per_rank[0][communicator.rank()].copy_(diff);
  communicator.allreduce_sum(per_rank);
  const auto host = per_rank[0].to(torch::kCPU).contiguous();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + world);
}

void check_parameter_consistency(Communicator& communicator, torch::nn::Module& module,
                                 int64_t step) {
  const auto divergence = parameter_divergence(communicator, module);
  std::ostringstream diverged;
  for (size_t r = 0; r < divergence.size(); ++r) {
    if (divergence[r] != 0.0) {
      diverged << (diverged.tellp() > 0 ? ", " : "") << "rank " << r
               << " (max |p - p_rank0| = " << divergence[r] << ")";
    }
  }
  if (diverged.tellp() > 0) {
    throw std::runtime_error("step " + std::to_string(step) + ": parameters differ across ranks: " +
                             diverged.str() + "; the ranks no longer train the same model");
  }
}

}  // namespace wsd

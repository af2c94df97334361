#include "core/model/sign_check.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

ForwardProcess with_sign(const ForwardProcess& process, int sign) {
  ForwardProcessOptions options = process.options();
  options.score_sign(sign);
  return ForwardProcess(process.schedule_ptr(), options);
}

// Sum of squared differences in float64, on the device.
torch::Tensor squared_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).square().sum();
}

}  // namespace

SignCheck check_score_sign(const OutputFn& output, const ForwardProcess& process,
                           const torch::Tensor& images, const StructuredNoise& noise,
                           const SignCheckOptions& options) {
  if (images.dim() != 4 || images.size(0) == 0) {
    throw InputError("score sign check: expected clean images [N, C, H, W] with N > 0");
  }
  const auto& times = options.times();
  if (times.empty()) throw InputError("score sign check: no times given");
  for (double t : times) {
    if (!(t > 0.0 && t <= 1.0)) {
      throw InputError("score sign check: time " + std::to_string(t) + " is not in (0, 1]");
    }
  }
  torch::NoGradGuard no_grad;
  const ForwardProcess plus = with_sign(process, 1), minus = with_sign(process, -1);
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t batch = std::max<int64_t>(1, options.batch_size());
  const auto device = images.device();
  // Rows: times; columns: input, +1, -1. Accumulated on the device, read back once.
  auto sums = torch::zeros({static_cast<int64_t>(times.size()), 3},
                           torch::TensorOptions().dtype(torch::kFloat64).device(device));
  for (size_t k = 0; k < times.size(); ++k) {
    std::vector<uint64_t> seeds(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      seeds[static_cast<size_t>(i)] = options.seed() +
                                      static_cast<uint64_t>(k) * static_cast<uint64_t>(n) +
                                      static_cast<uint64_t>(i);
    }
    const auto structured = noise.sample_per_image(seeds, c, h, w, device).to(images.dtype());
    for (int64_t begin = 0; begin < n; begin += batch) {
      const int64_t end = std::min(n, begin + batch);
      const auto x0 = images.slice(0, begin, end);
      const auto t = torch::full({end - begin}, times[k],
                                 torch::TensorOptions().dtype(torch::kFloat64).device(device));
      const auto x_t = process.perturb(x0, structured.slice(0, begin, end), t);
      const auto raw = output(x_t, t);
      sums[static_cast<int64_t>(k)][0] += squared_error(x_t, x0);
      sums[static_cast<int64_t>(k)][1] += squared_error(plus.x0_estimate(raw, x_t, t), x0);
      sums[static_cast<int64_t>(k)][2] += squared_error(minus.x0_estimate(raw, x_t, t), x0);
    }
  }
  const auto mse = (sums / static_cast<double>(images.numel())).to(torch::kCPU).contiguous();
  const double* m = mse.data_ptr<double>();

  SignCheck result;
  result.times = times;
  for (size_t k = 0; k < times.size(); ++k) {
    result.mse_input.push_back(m[3 * k]);
    result.mse_plus.push_back(m[3 * k + 1]);
    result.mse_minus.push_back(m[3 * k + 2]);
  }
  const auto mean = [](const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  result.mean_input = mean(result.mse_input);
  result.mean_plus = mean(result.mse_plus);
  result.mean_minus = mean(result.mse_minus);
  result.configured_sign = process.options().score_sign() < 0 ? -1 : 1;
  // Written so that NaN MSEs (a broken network) fail every comparison and keep the config.
  const bool plus_better = result.mean_plus <= result.mean_minus;
  const double best = plus_better ? result.mean_plus : result.mean_minus;
  result.conclusive = best < result.mean_input;
  result.sign = result.conclusive ? (plus_better ? 1 : -1) : result.configured_sign;
  return result;
}

SignCheck check_score_sign(ScoreModel& model, const torch::Tensor& images,
                           const StructuredNoise& noise, const SignCheckOptions& options) {
  const auto parameters = model.network()->parameters();
  const auto device = parameters.empty() ? images.device() : parameters.front().device();
  return check_score_sign(
      [&model](const torch::Tensor& x_t, const torch::Tensor& t) { return model.output(x_t, t); },
      model.process(), images.to(device), noise, options);
}

}  // namespace wsd

#include "core/noise/noise_benchmark.hpp"

#include <torch/torch.h>

#include "core/config/config_json.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/device.hpp"
#include "core/util/errors.hpp"

namespace wsd {

NoiseBenchResult bench_noise(const NoiseBenchRequest& request) {
  const BenchSettings& s = request.settings;
  s.check();
  if (request.channels < 1 || request.height < 1 || request.width < 1) {
    throw InputError("bench: the noise shape needs positive channels, height and width");
  }
  const StructuredNoise noise(request.noise);
  torch::Generator gen = make_device_generator(s.seed, s.device);
  torch::NoGradGuard no_grad;
  torch::Tensor last;
  NoiseBenchResult result;
  result.request = request;
  result.per_batch = time_calls(
      [&] {
        last =
            noise.sample(s.batch, request.channels, request.height, request.width, gen, s.device);
      },
      s.warmup, s.repeats, s.device);
  result.samples_per_s = static_cast<double>(s.batch) / result.per_batch.median();
  return result;
}

nlohmann::ordered_json NoiseBenchResult::to_json() const {
  nlohmann::ordered_json out;
  out["noise"] = wsd::to_json(request.noise);
  out["shape"] = {request.settings.batch, request.channels, request.height, request.width};
  out["samples_per_s"] = samples_per_s;
  per_batch.add_to(out, "batch");
  return out;
}

}  // namespace wsd

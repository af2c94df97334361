#include "train/train_bench.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/model/network_benchmark.hpp"
#include "core/network/state_dict.hpp"
#include "core/util/errors.hpp"
#include "train/lr_schedule.hpp"
#include "train/train_step.hpp"

namespace wsd {

std::string TrainVariant::name() const {
  std::string s = bf16 ? "bf16" : "fp32";
  s += channels_last ? " channels-last" : " contiguous";
  if (cudnn_benchmark) s += " cudnn-benchmark";
  return s;
}

std::vector<TrainVariant> comparison_variants(torch::Device device) {
  std::vector<TrainVariant> out;
  for (const bool bf16 : {false, true}) {
    if (bf16 && !device.is_cuda()) continue;
    for (const bool channels_last : {false, true}) {
      for (const bool benchmark : {false, true}) {
        if (benchmark && !device.is_cuda()) continue;
        out.push_back({bf16, channels_last, benchmark});
      }
    }
  }
  return out;
}

TrainBenchResult bench_training(const TrainBenchRequest& request,
                                const std::shared_ptr<Communicator>& communicator) {
  const BenchSettings& s = request.settings;
  s.check();
  if (request.variants.empty()) throw InputError("bench: no training variant to time");
  TrainBenchResult result;
  result.request = request;
  for (const auto& variant : request.variants) {
    if (variant.bf16 && !s.device.is_cuda()) {
      throw InputError("bench: bf16 autocast needs a CUDA device (use fp32 on " + s.device.str() +
                       ")");
    }
    Config config = request.config;
    config.train.batch_size = static_cast<int>(s.batch);
    config.train.seed = s.seed;
    config.train.precision = variant.bf16 ? Precision::kBf16 : Precision::kFp32;
    config.train.channels_last = variant.channels_last;
    config.train.cudnn_benchmark = variant.cudnn_benchmark;
    config.train.inject_nan_at_step = 0;
    TrainStep step(config, s.device, communicator);
    step.network()->train();
    // Loader-like CPU batches in [-1, 1], cycled.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(s.seed + 11);
    const int64_t c = config.model.image_channels, size = config.model.image_size;
    std::vector<torch::Tensor> batches;
    for (int i = 0; i < 4; ++i)
      batches.push_back(torch::rand({s.batch, c, size, size}, gen) * 2 - 1);
    size_t next_batch = 0;
    const auto next = [&] { return batches[next_batch++ % batches.size()]; };
    int64_t index = 0;
    StepResult last;
    TrainBenchRow row;
    row.variant = variant;
    row.per_step = time_calls(
        [&] {
          last = step.run(next, index, learning_rate(config.train, index, 1 << 20));
          ++index;
        },
        s.warmup, s.repeats, s.device);
    row.images_per_s = static_cast<double>(step.global_batch()) / row.per_step.median();
    row.last_loss = last.loss.item<double>();
    result.rows.push_back(row);
    result.parameters = parameter_count(*step.network());
    result.global_batch = step.global_batch();
    result.world_size = communicator->world_size();
    result.buckets = step.reducer().bucket_count();
  }
  return result;
}

nlohmann::ordered_json TrainBenchResult::to_json() const {
  const Config& config = request.config;
  auto out = network_report_head(config.model, config.noise, request.settings.batch);
  out["parameters"] = parameters;
  out["global_batch"] = global_batch;
  out["grad_accum"] = config.train.grad_accum;
  out["world_size"] = world_size;
  out["buckets"] = buckets;
  out["step"] = std::string("t, noise, forward, loss, backward, ") +
                (world_size > 1 ? std::to_string(buckets) + " allreduce bucket(s), " : "") +
                "clip, Adam, EMA (no data loading)";
  nlohmann::ordered_json variants = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    variants.push_back({{"setting", row.variant.name()},
                        {"precision", row.variant.bf16 ? "bf16" : "fp32"},
                        {"channels_last", row.variant.channels_last},
                        {"cudnn_benchmark", row.variant.cudnn_benchmark},
                        {"images_per_s", row.images_per_s},
                        {"loss", row.last_loss},
                        {"step_ms_median", row.per_step.median() * 1e3},
                        {"step_ms_min", row.per_step.min() * 1e3}});
  }
  out["variants"] = variants;
  if (rows.size() == 1) out["images_per_s"] = rows.front().images_per_s;
  return out;
}

}  // namespace wsd

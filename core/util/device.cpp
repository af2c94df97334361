#include "core/util/device.hpp"

#include <ATen/CPUGeneratorImpl.h>
#ifdef WSD_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif
#include <ATen/Context.h>
#include <torch/cuda.h>

#include "core/util/errors.hpp"

namespace wsd {

bool configure_cpu_numerics() { return at::globalContext().setFlushDenormal(true); }

bool cuda_usable() {
#ifdef WSD_WITH_CUDA
  return torch::cuda::is_available();
#else
  return false;
#endif
}

torch::Device resolve_device(const std::string& name, int local_rank) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name != "auto" && name != "cuda") {
    throw InputError("device '" + name + "' is not one of auto, cpu, cuda");
  }
  if (!cuda_usable()) {
    if (name == "auto") return torch::Device(torch::kCPU);
#ifdef WSD_WITH_CUDA
    throw InputError("device 'cuda' requested but no GPU is visible");
#else
    throw InputError(
        "device 'cuda' requested but this build has no CUDA (configure with -DWSD_WITH_CUDA=ON)");
#endif
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (local_rank >= count) {
    throw InputError("LOCAL_RANK " + std::to_string(local_rank) + " but only " +
                     std::to_string(count) + " GPU(s) visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

torch::Generator make_device_generator(uint64_t seed, torch::Device device) {
#ifdef WSD_WITH_CUDA
  if (device.is_cuda()) {
    auto gen = at::cuda::detail::createCUDAGenerator(device.has_index() ? device.index() : 0);
    gen.set_current_seed(seed);
    return gen;
  }
#else
  (void)device;
#endif
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

}  // namespace wsd

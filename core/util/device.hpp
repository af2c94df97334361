#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace wsd {

// Resolves a configured device name (auto | cpu | cuda) for a process; `local_rank` picks the
// GPU on multi-GPU nodes. Throws InputError when CUDA is asked for but not available.
torch::Device resolve_device(const std::string& name, int local_rank = 0);

// True when this build has CUDA code paths and a GPU is visible.
bool cuda_usable();

// A generator seeded with `seed` that draws on `device` (a CUDA generator for a CUDA device), so
// random draws need no host round trip.
torch::Generator make_device_generator(uint64_t seed, torch::Device device);

// Flushes denormal floats to zero on the CPU (FTZ/DAZ), for this thread and the threads it
// starts later (they inherit the floating-point environment): a run whose values decay toward
// zero (or one that is diverging) otherwise slows down many times on denormal arithmetic, and no
// result of this project depends on values below 1e-38. Call first thing in a process. Returns
// false where the CPU has no such mode.
bool configure_cpu_numerics();

}  // namespace wsd

#pragma once

// The times a sampler visits: steps + 1 values decreasing from 1 to t_eps (both exact). Few-step
// samplers gain most from where the steps go, not from their order:
//   uniform  uniform in t (the paper's grid);
//   log_snr  uniform in the log signal-to-noise ratio lambda(t) = log(alpha_t / sigma_t), the
//            variable in which the exponential integrators are exact for a linear denoiser;
//   edm      Karras et al.'s rho-spacing of the noise-to-signal ratio r = sigma_t / alpha_t:
//            r_i = (r_max^(1/rho) + i/N (r_min^(1/rho) - r_max^(1/rho)))^rho, which packs the
//            steps at low noise where the image's detail is decided (rho = 7 in their work).
// Non-uniform grids are mapped back to t by bisection of the schedule's monotone sigma/alpha.

#include <cstdint>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/diffusion/schedule.hpp"

namespace wsd {

std::vector<double> time_grid(const DiffusionSchedule& schedule, TimeGrid kind, int64_t steps,
                              double t_eps, double rho = 7.0);

// `steps + 1` times, uniform from 1 down to t_eps.
std::vector<double> uniform_time_grid(int64_t steps, double t_eps);

}  // namespace wsd

#pragma once

// The one sampler contract. Every sampler takes
//   - the prior as a score function returning the whitened score s_W(x, t) (a network in any
//     parameterisation through ScoreModel, or the closed-form Gaussian prior),
//   - the schedule, the initial state x (at grid[0]) and a float64 time grid decreasing from 1
//     to t_eps,
//   - a per-step callback (progress, pictures),
// and returns the state at the last grid time. Times are host doubles: no step synchronises
// with the device.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/diffusion/schedule.hpp"

namespace wsd {

using ScoreFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>;
// E[x_0 | x_t]: what the flow-matching sampler integrates with.
using DenoiserFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>;
using StepCallback = std::function<void(int64_t step, int64_t steps, const torch::Tensor& x)>;

// `steps + 1` times, uniform from 1 down to t_eps.
std::vector<double> uniform_time_grid(int64_t steps, double t_eps);

// t as a float64 [N] tensor on x's device, filled from a host value (no transfer, no sync).
torch::Tensor time_like(const torch::Tensor& x, double t);

// E[x_0 | x_t] from the whitened score: the denoised result at the end of a trajectory.
torch::Tensor tweedie_from_score(const DiffusionSchedule& schedule, const ScoreFn& score,
                                 const torch::Tensor& x, double t);

// The paper's Euler step of the reverse probability-flow ODE dx/dt = -beta/2 x - s_W/2 on
// each interval [t_{i+1}, t_i]: x <- (2 - sqrt(1 - beta dt)) x + s_W dt / 2.
torch::Tensor sample_euler(const DiffusionSchedule& schedule, const ScoreFn& score, torch::Tensor x,
                           const std::vector<double>& grid, const StepCallback& callback = {});

// Euler steps of the flow-matching ODE for x_t = (1 - t) x_0 + t n, whose velocity
// v = n - x_0 = (x_t - E[x_0 | x_t]) / t needs only the denoiser: x <- x - dt v, from grid[0] = 1
// down to the last grid time (t_eps > 0).
torch::Tensor sample_flow_euler(const DenoiserFn& denoise, torch::Tensor x,
                                const std::vector<double>& grid, const StepCallback& callback = {});

}  // namespace wsd

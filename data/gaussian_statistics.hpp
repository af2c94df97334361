#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "core/config/config_types.hpp"
#include "core/diffusion/gaussian_prior.hpp"

namespace wsd {

// Called after every batch with the images done so far and the total; returning false stops
// the pass.
using StatisticsProgress = std::function<bool(int64_t done, int64_t total)>;

// The statistics of a closed-form Gaussian prior (docs/maths.md, "Closed-form Gaussian prior"):
// the mean image and power spectrum of the first `limit` images of `split` (all of them when
// limit <= 0), each shaped as evaluation_image shapes it, without random transforms. The one
// estimate behind `wsdiff train` with model.type gaussian and the reconstructions' Gaussian
// prior, Wiener filter, Tikhonov and proximal step. nullopt when `progress` stopped the pass;
// InputError for fewer than 2 images.
std::optional<GaussianStatistics> estimate_gaussian_statistics(
    const DataConfig& data, DataSplit split, int64_t limit,
    const StatisticsProgress& progress = {});

}  // namespace wsd

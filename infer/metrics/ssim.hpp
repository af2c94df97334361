#pragma once

#include <torch/types.h>

namespace wsd {

// Structural similarity per image, float64 [N], of batches [N, C, H, W] in [-1, 1] image units,
// mapped to [0, 1] by (x + 1) / 2 and clamped (data range 1). The standard definition of Wang et
// al. 2004: an 11 x 11 Gaussian window with sigma 1.5 (normalised to sum 1), K1 = 0.01,
// K2 = 0.03, population (not sample) covariances, the SSIM map averaged over the positions where
// the window fits entirely inside the image, then over channels. This is what scikit-image's
// structural_similarity computes with gaussian_weights=True, use_sample_covariance=False,
// data_range=1 (pinned by a test against stored scikit-image results).
torch::Tensor ssim(const torch::Tensor& estimate, const torch::Tensor& reference);

}  // namespace wsd

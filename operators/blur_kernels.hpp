#pragma once

// Blur kernels, float64 [S, S] with odd S and sum 1, centred on (S/2, S/2). Offsets: column
// dx = j - S/2 grows to the right (+x), row dy = i - S/2 grows downwards.

#include <torch/types.h>

#include <cstdint>

namespace wsd {

// exp(-(dx^2 + dy^2) / (2 sigma^2)) sampled at integer offsets |dx|, |dy| <= size / 2.
torch::Tensor gaussian_kernel(double sigma, int64_t size);

// 1 / size^2 everywhere.
torch::Tensor box_kernel(int64_t size);

// A straight line segment of `length` px through the centre, at `angle_deg` counter-clockwise
// from +x (so +90 degrees points up, towards smaller rows). The segment is cut into 16 equal
// pieces per px whose midpoints are splatted bilinearly onto the grid; the kernel is
// point-symmetric, and its side 2 floor(length / 2) + 3 holds every splat.
torch::Tensor motion_kernel(double length, double angle_deg);

}  // namespace wsd

#pragma once

// Forward models read from files: a measured point-spread function, a transfer function and an
// inpainting mask. Each reader checks the file against the image it will act on and throws
// InputError with one line naming the task key, the file and what is wrong.
//
// File formats. An HDF5 file (recognised by its signature, whatever its name) holds one float
// or integer dataset; an image file (PNG/JPEG/BMP/TGA/PNM, gray) is read through
// data/image_decode.hpp with its pixel values mapped to [0, 1].
//   PSF      HDF5 /psf [S1, S2] (or [1, S1, S2]), or a gray image. Any sizes, odd or even, also
//            larger than the image (a circular boundary wraps it around the image, a zero one
//            lets the light beyond the image's edge leave it). Finite; its sum must be positive,
//            and it is normalised to sum 1 (logged) when it is not already. Negative entries (a
//            background subtracted from a measurement) are kept.
//   transfer HDF5 /transfer [H, W/2+1] (real) or [H, W/2+1, 2] (real, imaginary parts): the
//            transfer function T on the rfft2 grid of the H x W image, rows at fftfreq(H),
//            columns at rfftfreq(W), so that rfft2(A x) = T rfft2(x) per channel (for a kernel
//            k, T = rfft2(k) with k's origin at pixel [0, 0]). The columns that are their own
//            mirror image (kx = 0, and kx = W/2 for even W) must be Hermitian in ky,
//            T(-ky) = conj T(ky), so that real images map to real images: this makes the DC bin
//            and, for even sizes, the Nyquist bins real.
//   mask     HDF5 /mask [H, W] (or [1, H, W]), or a gray image of the image's size: weights in
//            [0, 1] (1 = pixel kept), binary or not; at least one must be non-zero.
//
// PSF centre (task.psf_centre): `center` puts the PSF's origin at pixel (S1/2, S2/2), rounded
// down: the middle pixel of an odd side, the one just past the middle of an even side (the
// layout of fftshift); `corner` puts it at pixel [0, 0] with negative offsets wrapped to the far
// end (the layout of ifftshift, as an optics code's OTF gives it).

#include <string>

#include "core/config/config_enums.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

// The PSF as a centred kernel of odd sides (blur_kernels.hpp's layout), float64, sum 1: an even
// side gains one zero row or column at its end, so that the origin lands on the middle pixel.
torch::Tensor read_psf(const std::string& path, PsfCentre centre);

// The transfer function on the full fft2 grid, complex128 [1, 1, H, W], Hermitian.
torch::Tensor read_transfer_function(const std::string& path, int64_t h, int64_t w);

// The mask weights, float64 [H, W] in [0, 1].
torch::Tensor read_mask(const std::string& path, int64_t h, int64_t w);

}  // namespace wsd

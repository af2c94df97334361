#!/usr/bin/env python3
"""Per-band calibration of a prior's denoiser E[x_0 | x_t], checked from outside the product.

    scripts/denoiser_calibration.py CHECKPOINT.h5 [--white-share W] [--images N] [--t 0.1,0.3,...]

Noises the first N Fashion-MNIST test images (32x32, [-1, 1]) to x_t = alpha_t x_0 + sigma_t n
on the VP schedule 0.1-20 with the checkpoint's kind of noise, written here in numpy from
docs/maths.md: white noise, or (with --white-share) the `mixture` family, GRF of kernel std 1-5
px drawn log-uniformly per image, its k^2 normalised to unit mean, mixed as
(1 - W) k_grf^2 + W. One `wsdiff predict --ema` call gives the network output F, turned into
x0_hat = c_skip x_t + c_out F (edm parameterisation, sigma_data from --sigma-data). Per band of
|f| (8 bands to 0.5 cycles/px) and per t it prints, after removing the test set's mean image:

    slope  <x0_hat, x_0> / <x0_hat, x0_hat>  1 for the exact posterior mean; > 1 when the
                                             network shrinks that band towards the mean
    power  |x0_hat|^2 / |x_0|^2              how much of the band the estimate holds

A second line per t does the same for the image mean alone (the DC term, the largest part of the
lowest band): its slope, its bias (estimate minus truth) and the std of the estimated and the
true means.

Needs the project's .venv (numpy, h5py) and a built ./build/cli/wsdiff.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from check_samples import BANDS, band_index, test_set  # noqa: E402

BETA_MIN, BETA_MAX = 0.1, 20.0


def alpha_sigma(t):
    integrated = BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t
    return np.exp(-0.5 * integrated), np.sqrt(-np.expm1(-integrated))


def noise(rng, n, size, white_share, kernel_std=None):
    """White noise, or the mixture with white share `white_share`: GRF of kernel std 1-5 px
    drawn log-uniformly per image, or `kernel_std` px for every image when given."""
    e = rng.standard_normal((n, size, size))
    if white_share is None:
        return e
    f = np.fft.fftfreq(size)
    radius2 = f[:, None] ** 2 + f[None, :] ** 2
    std = np.exp(rng.uniform(np.log(1.0), np.log(5.0), n))[:, None, None]
    if kernel_std is not None:
        std = np.full_like(std, kernel_std)
    k2 = np.exp(-4.0 * np.pi ** 2 * std ** 2 * radius2[None])
    k2 = (1.0 - white_share) * k2 / k2.mean(axis=(1, 2), keepdims=True) + white_share
    return np.real(np.fft.ifft2(np.sqrt(k2) * np.fft.fft2(e)))


def x0_estimate(checkpoint, x, t, sigma_data):
    """The network's E[x_0 | x_t] for states x [N, H, W] at times t [N]: one `wsdiff predict
    --ema` call, its output F turned into c_skip x_t + c_out F (edm parameterisation)."""
    with tempfile.TemporaryDirectory() as work:
        inputs, outputs = Path(work) / "in.h5", Path(work) / "out.h5"
        with h5py.File(inputs, "w") as f:
            f["x"] = x[:, None].astype(np.float32)
            f["t"] = t
        subprocess.run([str(ROOT / "build" / "cli" / "wsdiff"), "predict", "--checkpoint",
                        checkpoint, "--input", str(inputs), "--out", str(outputs), "--ema"],
                       check=True, capture_output=True)
        with h5py.File(outputs, "r") as f:
            out = np.asarray(f["y"], np.float64)[:, 0]
    a, s = alpha_sigma(t)
    d = s * s + a * a * sigma_data ** 2
    c_skip, c_out = a * sigma_data ** 2 / d, s * sigma_data / np.sqrt(d)
    return c_skip[:, None, None] * x + c_out[:, None, None] * out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--white-share", type=float, default=None,
                        help="the mixture noise's white share (default: white noise)")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--t", default="0.05,0.1,0.2,0.3,0.45,0.6,0.8")
    parser.add_argument("--sigma-data", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    times = [float(v) for v in args.t.split(",")]
    truth = test_set()
    mean = truth.mean(0)
    x0 = truth[: args.images]
    rng = np.random.default_rng(args.seed)
    size = x0.shape[-1]
    states = []
    for t in times:
        a, s = alpha_sigma(t)
        states.append(a * x0 + s * noise(rng, len(x0), size, args.white_share))
    x_t = np.concatenate(states)
    x0_hats = x0_estimate(args.checkpoint, x_t, np.repeat(times, len(x0)), args.sigma_data)
    band = band_index(size)
    clean = np.fft.fft2(x0 - mean, norm="ortho")
    clean_power = (np.abs(clean) ** 2).mean(0)
    print(f"{args.checkpoint}: {len(x0)} test images, bands low to high")
    for i, t in enumerate(times):
        x0_hat = x0_hats[i * len(x0):(i + 1) * len(x0)]
        estimate = np.fft.fft2(x0_hat - mean, norm="ortho")
        cross = np.real(estimate * np.conj(clean)).mean(0)
        power = (np.abs(estimate) ** 2).mean(0)
        slope = [cross[band == b].sum() / power[band == b].sum() for b in range(BANDS)]
        held = [power[band == b].sum() / clean_power[band == b].sum() for b in range(BANDS)]
        print(f"t={t:.2f}  slope " + " ".join(f"{v:5.2f}" for v in slope) +
              "  | power " + " ".join(f"{v:4.2f}" for v in held))
        mean_hat, mean_true = (x0_hat - mean).mean((1, 2)), (x0 - mean).mean((1, 2))
        print(f"        image mean: slope {(mean_hat * mean_true).mean() / (mean_hat ** 2).mean():5.3f}"
              f"  bias {(mean_hat - mean_true).mean():+.4f}"
              f"  std {mean_hat.std():.3f} (true {mean_true.std():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

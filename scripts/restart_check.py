#!/usr/bin/env python3
"""Where along the reverse process a prior loses power per frequency band, checked from outside.

    scripts/restart_check.py CHECKPOINT.h5 [--white-share W] [--kernel-std PX] [--images N]
                             [--t0 0.15,0.3,...] [--steps S]

Noises the first N Fashion-MNIST test images to x_t0 = alpha_t0 x_0 + sigma_t0 n with the
checkpoint's kind of noise (scripts/denoiser_calibration.py writes it from docs/maths.md) and
integrates the probability-flow ODE from t0 to t_eps = 1e-3 with DPM-Solver++(2M) on a uniform
grid of S steps, one `wsdiff predict --ema` call per step for all start times together, ending
with the Tweedie estimate. Started from the true marginal at t0, an exact prior returns images
distributed like the test images; the radial power spectrum of the results against that of the
same test images (both about the test set's mean image) says how much of each band the network
loses below t0. Starting at t0 = 1 is plain sampling.

Needs the project's .venv (numpy, h5py) and a built ./build/cli/wsdiff.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from check_samples import radial_spectrum, test_set  # noqa: E402
from denoiser_calibration import alpha_sigma, noise, x0_estimate  # noqa: E402

T_EPS = 1e-3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--white-share", type=float, default=None,
                        help="the mixture noise's white share (default: white noise)")
    parser.add_argument("--kernel-std", type=float, default=None,
                        help="one GRF kernel std (px) for every image instead of 1-5 px")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--t0", default="0.15,0.3,0.45,0.7,1.0")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sigma-data", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    starts = [float(v) for v in args.t0.split(",")]
    x0 = test_set()[: args.images]
    n = len(x0)
    rng = np.random.default_rng(args.seed)
    # One row of times per start: uniform from t0 to t_eps.
    grid = np.stack([np.linspace(t0, T_EPS, args.steps + 1) for t0 in starts])
    a0, s0 = alpha_sigma(np.repeat(grid[:, 0], n))
    x = a0[:, None, None] * np.tile(x0, (len(starts), 1, 1))
    x += s0[:, None, None] * noise(rng, len(x), x0.shape[-1], args.white_share, args.kernel_std)
    previous, h_previous = None, None
    for i in range(args.steps):
        t, t_next = np.repeat(grid[:, i], n), np.repeat(grid[:, i + 1], n)
        estimate = x0_estimate(args.checkpoint, x, t, args.sigma_data)
        a, s = alpha_sigma(t)
        a_next, s_next = alpha_sigma(t_next)
        h = np.log(a_next / s_next) - np.log(a / s)
        d = estimate
        if previous is not None:
            r = (h_previous / h)[:, None, None]
            d = (1 + 0.5 / r) * estimate - 0.5 / r * previous
        x = (s_next / s)[:, None, None] * x - (a_next * np.expm1(-h))[:, None, None] * d
        previous, h_previous = estimate, h
        print(f"step {i + 1}/{args.steps}", file=sys.stderr, flush=True)
    final = x0_estimate(args.checkpoint, x, np.full(len(x), T_EPS), args.sigma_data)
    reference = radial_spectrum(x0)
    print(f"{args.checkpoint}: {n} test images, {args.steps} DPM-Solver++(2M) steps from t0")
    print("spectrum rel. error per band (low to high), results against their own test images")
    for k, t0 in enumerate(starts):
        images = final[k * n:(k + 1) * n]
        error = radial_spectrum(images) / reference - 1.0
        print(f"t0={t0:.2f}  " + " ".join(f"{100 * e:+4.0f}%" for e in error) +
              f"   image-mean std {images.mean((1, 2)).std():.3f} (true {x0.mean((1, 2)).std():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Per-band calibration of a prior's denoiser E[x_0 | x_t], checked from outside the product.

    scripts/research/denoiser_calibration.py CHECKPOINT.h5 [--images N] [--t 0.1,0.3,...]
                                             [--set noise.KEY=VALUE ...]

Noises the first N Fashion-MNIST test images (32x32, [-1, 1]) to x_t = alpha_t x_0 + sigma_t n
with the checkpoint's own noise, drawn by `wsdiff noise` from the checkpoint's resolved config
(--set edits its noise section, e.g. one GRF kernel width). One `wsdiff predict --ema` call gives
the network's output, turned into its x_0 estimate (wsdiff_tools.x0_estimate). Per band of |f|
(8 bands to 0.5 cycles/px) and per t it prints, after removing the test set's mean image:

    slope  <x0_hat, x_0> / <x0_hat, x0_hat>  1 for the exact posterior mean; > 1 when the
                                             network shrinks that band towards the mean
    power  |x0_hat|^2 / |x_0|^2              how much of the band the estimate holds

A second line per t does the same for the image mean alone (the DC term, the largest part of the
lowest band): its slope, its bias (estimate minus truth) and the std of the estimated and the
true means.

Needs the project's .venv (numpy, h5py) and a built wsdiff (wsdiff_tools.py says which).
"""
import argparse
import sys

import numpy as np

from check_samples import BANDS, band_index, test_set
from wsdiff_tools import Schedule, checkpoint_config_text, noise, parse_config, x0_estimate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--t", default="0.05,0.1,0.2,0.3,0.45,0.6,0.8")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="edit the checkpoint's config for the noise drawn (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first noise field")
    args = parser.parse_args()
    times = [float(v) for v in args.t.split(",")]
    config_text = checkpoint_config_text(args.checkpoint)
    config = parse_config(config_text)
    schedule = Schedule(args.checkpoint, config)
    truth = test_set()
    mean = truth.mean(0)
    x0 = truth[: args.images][:, None]
    n = len(x0)
    fields = noise(config_text, n * len(times), args.seed, args.set)
    t = np.repeat(times, n)
    a, s = schedule.alpha_sigma(t)
    x_t = a[:, None, None, None] * np.tile(x0, (len(times), 1, 1, 1)) + \
        s[:, None, None, None] * fields
    x0_hats = x0_estimate(args.checkpoint, x_t, t)[:, 0]
    x0 = x0[:, 0]
    band = band_index(x0.shape[-1])
    clean = np.fft.fft2(x0 - mean, norm="ortho")
    clean_power = (np.abs(clean) ** 2).mean(0)
    print(f"{args.checkpoint}: {n} test images, bands low to high")
    for i, time in enumerate(times):
        x0_hat = x0_hats[i * n:(i + 1) * n]
        estimate = np.fft.fft2(x0_hat - mean, norm="ortho")
        cross = np.real(estimate * np.conj(clean)).mean(0)
        power = (np.abs(estimate) ** 2).mean(0)
        slope = [cross[band == b].sum() / power[band == b].sum() for b in range(BANDS)]
        held = [power[band == b].sum() / clean_power[band == b].sum() for b in range(BANDS)]
        print(f"t={time:.2f}  slope " + " ".join(f"{v:5.2f}" for v in slope) +
              "  | power " + " ".join(f"{v:4.2f}" for v in held))
        mean_hat, mean_true = (x0_hat - mean).mean((1, 2)), (x0 - mean).mean((1, 2))
        print(f"        image mean: slope {(mean_hat * mean_true).mean() / (mean_hat ** 2).mean():5.3f}"
              f"  bias {(mean_hat - mean_true).mean():+.4f}"
              f"  std {mean_hat.std():.3f} (true {mean_true.std():.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

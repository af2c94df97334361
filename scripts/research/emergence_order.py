#!/usr/bin/env python3
"""When each frequency band of Fashion-MNIST emerges from a prior's training noise.

    scripts/research/emergence_order.py [--checkpoint CKPT] [--config C] [--white-fraction W ...]
                                        [--set KEY=VALUE ...]

For the training noise n = K e of a prior (default: the shipped WS prior,
models/fashion_mnist_ws.h5), or of a config's `noise` section under that prior's schedule, prints
per radial
band of |f| (8 bands, 0 to 0.5 cycles/px) the diffusion time t* at which the band's
signal-to-noise ratio alpha_t^2 P_x(f) / (sigma_t^2 k^2(f)) reaches 1. --white-fraction repeats
this for the `mixture` family at each white share W (W = 1 is white noise); --set edits the
config (e.g. noise.grf_sigma_max=3). Reverse sampling fixes a band at about its t*: white noise
fixes coarse bands first (t* falling with frequency); a noise whose low frequencies dominate can
invert that order, so that fine detail is drawn before the large-scale shape it belongs to.

k^2 is the noise's analytic power spectrum from `wsdiff noise`, alpha_t and sigma_t the prior's
(`wsdiff predict`, wsdiff_tools.Schedule); P_x is the power spectrum of the centred test images (Debian package
dataset-fashion-mnist). Needs the project's .venv and a built wsdiff (wsdiff_tools.py says which).
"""
import argparse

import numpy as np

from check_samples import BANDS, test_set
from wsdiff_tools import (ROOT, Schedule, checkpoint_config_text, noise_power, parse_config,
                          resolved_config_text)

DEFAULT_CHECKPOINT = ROOT / "models" / "fashion_mnist_ws.h5"


def image_spectrum():
    x = test_set()
    centred = x - x.mean(axis=0, keepdims=True)
    return (np.abs(np.fft.fft2(centred, norm="ortho")) ** 2).mean(axis=0)


def emergence_times(ratio, schedule):
    """t with alpha_t^2 / sigma_t^2 = 1 / ratio, between t_eps and 1."""
    t = np.linspace(schedule.t_eps, 1.0, 200_001)
    alpha, sigma = schedule.alpha_sigma(t)
    log_snr = 2.0 * (np.log(alpha) - np.log(sigma))  # decreasing in t
    return np.interp(-np.log(ratio), log_snr[::-1], t[::-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                        help="the prior whose schedule (and, without --config, noise) is used")
    parser.add_argument("--config", help="take the noise from this config instead")
    parser.add_argument("--white-fraction", type=float, nargs="+",
                        help="mixture white shares to compare (default: the config's noise)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="edit the config (repeatable)")
    args = parser.parse_args()
    config_text = checkpoint_config_text(args.checkpoint)
    schedule = Schedule(args.checkpoint, parse_config(config_text))
    if args.config:
        config_text = resolved_config_text(args.config)

    data = image_spectrum()
    size = data.shape[-1]
    f = np.fft.fftfreq(size)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    band = np.minimum((radius / 0.5 * BANDS).astype(int), BANDS)  # corners beyond 0.5: left out

    variants = [("config's noise", [])]
    if args.white_fraction:
        variants = [("white" if w == 1.0 else f"mixture w={w:g}",
                     ["noise.family=mixture", f"noise.white_fraction={w:g}"])
                    for w in args.white_fraction]
    print("t* per band of |f| (low to high); order 'coarse first' when t* falls band after band")
    for label, overrides in variants:
        k2 = noise_power(config_text, args.set + overrides)
        times = [emergence_times(data[band == b].mean() / k2[band == b].mean(), schedule)
                 for b in range(BANDS)]
        order = "coarse first" if all(a > b for a, b in zip(times, times[1:])) else "NOT coarse first"
        print(f"{label:18s} " + " ".join(f"{t:.3f}" for t in times) + f"   {order}")


if __name__ == "__main__":
    main()

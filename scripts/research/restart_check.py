#!/usr/bin/env python3
"""Where along the reverse process a prior loses power per frequency band, checked from outside.

    scripts/research/restart_check.py CHECKPOINT.h5 [--images N] [--t0 0.15,0.3,...] [--steps S]
                                      [--set noise.KEY=VALUE ...]

Noises the first N Fashion-MNIST test images to x_t0 = alpha_t0 x_0 + sigma_t0 n with the
checkpoint's own noise (drawn by `wsdiff noise` from its resolved config; --set edits it, e.g.
`--set noise.grf_sigma_min=5 --set noise.grf_sigma_max=5` for one kernel width) and integrates
the probability-flow ODE from t0 to the checkpoint's t_eps with DPM-Solver++(2M) on a uniform grid
of S steps, one `wsdiff predict --ema` call per step for all start times together, ending with
the x_0 estimate. Started from the true marginal at t0, an exact prior returns images
distributed like the test images; the radial power spectrum of the results against that of the
same test images (both about the test set's mean image) says how much of each band the network
loses below t0. Starting at t0 = 1 is plain sampling.

The solver steps are written here (in the data-prediction form of DPM-Solver++(2M)) because
`wsdiff sample` cannot start from given states at a time t0 yet (scripts/research/README.md).

Needs the project's .venv (numpy, h5py) and a built wsdiff (wsdiff_tools.py says which).
"""
import argparse
import sys

import numpy as np

from check_samples import radial_spectrum, test_set
from wsdiff_tools import Schedule, checkpoint_config_text, noise, parse_config, x0_estimate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--t0", default="0.15,0.3,0.45,0.7,1.0")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="edit the checkpoint's config for the noise drawn (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first noise field")
    args = parser.parse_args()
    starts = [float(v) for v in args.t0.split(",")]
    config_text = checkpoint_config_text(args.checkpoint)
    config = parse_config(config_text)
    schedule = Schedule(args.checkpoint, config)
    x0 = test_set()[: args.images]
    n = len(x0)
    # One row of times per start: uniform from t0 to t_eps.
    grid = np.stack([np.linspace(t0, schedule.t_eps, args.steps + 1) for t0 in starts])
    a0, s0 = schedule.alpha_sigma(np.repeat(grid[:, 0], n))
    x = a0[:, None, None, None] * np.tile(x0[:, None], (len(starts), 1, 1, 1))
    x += s0[:, None, None, None] * noise(config_text, len(x), args.seed, args.set)
    previous, h_previous = None, None
    for i in range(args.steps):
        t, t_next = np.repeat(grid[:, i], n), np.repeat(grid[:, i + 1], n)
        estimate = x0_estimate(args.checkpoint, x, t)
        a, s = schedule.alpha_sigma(t)
        a_next, s_next = schedule.alpha_sigma(t_next)
        h = np.log(a_next / s_next) - np.log(a / s)
        d = estimate
        if previous is not None:
            r = (h_previous / h)[:, None, None, None]
            d = (1 + 0.5 / r) * estimate - 0.5 / r * previous
        x = (s_next / s)[:, None, None, None] * x - (a_next * np.expm1(-h))[:, None, None, None] * d
        previous, h_previous = estimate, h
        print(f"step {i + 1}/{args.steps}", file=sys.stderr, flush=True)
    final = x0_estimate(args.checkpoint, x, np.full(len(x), schedule.t_eps))
    final = final[:, 0]
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

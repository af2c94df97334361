#!/usr/bin/env python3
"""When each frequency band of Fashion-MNIST emerges from a VP process's noise.

    scripts/emergence_order.py [--white-fraction W ...] [--sigma-min S] [--sigma-max S]

For the training noise n = K e of a WS prior (the mixture family: GRF kernels with std drawn
log-uniformly in [sigma-min, sigma-max] px plus a white share W, unit pixel variance; W = 1 is
white noise), prints per radial band of |f| (8 bands, 0 to 0.5 cycles/px) the diffusion time t*
at which the band's signal-to-noise ratio alpha_t^2 P_x(f) / (sigma_t^2 k^2(f)) reaches 1, on the
VP schedule (beta 0.1 to 20). Reverse sampling fixes a band at about its t*: white noise fixes
coarse bands first (t* falling with frequency); a noise whose low frequencies dominate can
invert that order, so that fine detail is drawn before the large-scale shape it belongs to.
P_x is the power spectrum of the centred test images (Debian package dataset-fashion-mnist).
A check from outside the product (numpy only).
"""
import argparse
import gzip

import numpy as np

TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
BANDS = 8
SIZE = 32


def image_spectrum():
    with gzip.open(TEST_IMAGES) as f:
        raw = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    x = np.full((raw.shape[0], SIZE, SIZE), -1.0)
    x[:, 2:30, 2:30] = raw / 127.5 - 1.0
    centred = x - x.mean(axis=0, keepdims=True)
    return (np.abs(np.fft.fft2(centred, norm="ortho")) ** 2).mean(axis=0)


def grf_power(radius, sigma_min, sigma_max, nodes=256):
    """E over log-uniform sigma of the unit-variance GRF spectrum k^2 (midpoint rule in log sigma)."""
    u = (np.arange(nodes) + 0.5) / nodes
    power = np.zeros_like(radius)
    for sigma in sigma_min * (sigma_max / sigma_min) ** u:
        g = np.exp(-4.0 * np.pi**2 * sigma**2 * radius**2)
        power += g / g.mean()
    return power / nodes


def emergence_times(ratio, beta_min=0.1, beta_max=20.0):
    """t with alpha_t^2 / sigma_t^2 = 1 / ratio on the linear-beta VP schedule."""
    t = np.linspace(1e-3, 1.0, 200_001)
    log_alpha2 = -(beta_min * t + 0.5 * (beta_max - beta_min) * t**2)
    log_snr = log_alpha2 - np.log1p(-np.exp(log_alpha2))  # decreasing in t
    return np.interp(-np.log(ratio), log_snr[::-1], t[::-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--white-fraction", type=float, nargs="+", default=[1.0, 0.1, 0.3, 0.5, 0.7])
    parser.add_argument("--sigma-min", type=float, default=1.0)
    parser.add_argument("--sigma-max", type=float, default=5.0)
    args = parser.parse_args()

    f = np.fft.fftfreq(SIZE)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    band = np.minimum((radius / 0.5 * BANDS).astype(int), BANDS)
    data = image_spectrum()
    grf = grf_power(radius, args.sigma_min, args.sigma_max)

    print("t* per band of |f| (low to high); order 'coarse first' when t* falls band after band")
    for w in args.white_fraction:
        noise = (1.0 - w) * grf + w
        times = [emergence_times(data[band == b].mean() / noise[band == b].mean()) for b in range(BANDS)]
        order = "coarse first" if all(a > b for a, b in zip(times, times[1:])) else "NOT coarse first"
        label = "white" if w == 1.0 else f"mixture w={w:g}"
        print(f"{label:18s} " + " ".join(f"{t:.3f}" for t in times) + f"   {order}")


if __name__ == "__main__":
    main()

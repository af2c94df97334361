#!/usr/bin/env python3
"""Noise of a simulated camera that none of the shipped priors was trained on, and that wsdiff's
noise families do not describe: row and column offsets that change every frame (the stripes of
an sCMOS sensor's readout), a slowly varying, elongated background drift, and white read noise.

    camera_noise.py frames OUT.h5 [--n 200] [--seed 1]          # blank frames, for `noise fit`
    camera_noise.py add MEAS.h5 OUT.h5 [--seed 2]                 # y + camera noise, [N, 1, H, W]

The fields are made on a larger canvas and cropped, so they are not periodic on the image (as a
real sensor's are not): the stationary spectrum `noise fit` estimates describes them only
approximately. Values are in the project's image units ([-1, 1] images). numpy + h5py only: the
generator knows nothing of wsdiff's noise code.
"""
import argparse

import h5py
import numpy as np

ROW_STD = 0.10      # per-row offset, new every frame
COLUMN_STD = 0.04   # per-column offset, new every frame
DRIFT_STD = 0.15    # background drift, Gaussian-smoothed white noise
DRIFT_SIGMA = (3.0, 8.0)  # its smoothing length in px along (rows, columns): elongated along x
WHITE_STD = 0.05    # read noise
CANVAS = 2          # fields are drawn on a canvas this many times larger, then cropped


def smooth(field, sigma):
    """Gaussian smoothing along both axes through the FFT of a canvas much larger than the crop."""
    h, w = field.shape[-2:]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    kernel = np.exp(-2 * np.pi**2 * ((sigma[0] * fy) ** 2 + (sigma[1] * fx) ** 2))
    return np.real(np.fft.ifft2(np.fft.fft2(field) * kernel))


def camera_noise(n, h, w, rng):
    big_h, big_w = CANVAS * h, CANVAS * w
    rows = ROW_STD * rng.standard_normal((n, h, 1))
    columns = COLUMN_STD * rng.standard_normal((n, 1, w))
    drift = smooth(rng.standard_normal((n, big_h, big_w)), DRIFT_SIGMA)
    drift = drift[:, :h, :w]
    drift *= DRIFT_STD / drift.std()
    white = WHITE_STD * rng.standard_normal((n, h, w))
    return (rows + columns + drift + white).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    frames = sub.add_parser("frames")
    frames.add_argument("out")
    frames.add_argument("--n", type=int, default=200)
    frames.add_argument("--size", type=int, default=32)
    frames.add_argument("--seed", type=int, default=1)
    add = sub.add_parser("add")
    add.add_argument("measurements", help="an HDF5 file with /y [N, 1, H, W] (wsdiff simulate)")
    add.add_argument("out")
    add.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.what == "frames":
        noise = camera_noise(args.n, args.size, args.size, rng)
        with h5py.File(args.out, "w") as f:
            f["/frames"] = noise
        print(f"{args.n} frames {args.size}x{args.size}, pixel std {noise.std():.4f}: {args.out}")
        return
    with h5py.File(args.measurements, "r") as f:
        y = np.asarray(f["/y"], dtype=np.float32)
        truth = np.asarray(f["/x_true"], dtype=np.float32)
    noise = camera_noise(y.shape[0], y.shape[-2], y.shape[-1], rng)
    with h5py.File(args.out, "w") as f:
        f["/y"] = y + noise[:, None]
        f["/x_true"] = truth
    print(f"{y.shape[0]} measurements + camera noise (std {noise.std():.4f}): {args.out}")


if __name__ == "__main__":
    main()

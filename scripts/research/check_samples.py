#!/usr/bin/env python3
"""Independent check of unconditional samples against real Fashion-MNIST images.

    scripts/research/check_samples.py SAMPLES.h5 [--reference validation|test] [--json OUT.json]
    scripts/research/check_samples.py real [--reference ...]   # the floor of an exact sampler

Reads /samples [N, 1, 32, 32] written by `wsdiff sample`, and the reference images from the
Debian package dataset-fashion-mnist (28x28 padded with background to 32x32, in [-1, 1], as the
`idx` reader with `fit: center` does): by default the validation split (training images
59,000-59,999, the last 1,000, which `data.validation_images` holds out of training), or the test
split. `real` in place of a file checks 1,000 training images outside the validation split
(seeded choice): what a sampler drawing from the data itself would score, the floor against
which sample figures are read. Reports:
  - the share of pixels within [-1.2, 1.2] (criterion: >= 99.9%);
  - the relative error of the mean image, ||mean_s - mean_t|| / ||mean_t|| (criterion: <= 10%);
    and, for information, the same against the reference set joined with its mirror image: what a
    prior trained with `data.random_flip` models (Fashion-MNIST's shoes all face left, so the
    mirrored mean image differs from the unmirrored one);
  - the radial power spectrum of the centred images in 8 bands of |f| (cycles/px, 0 to 0.5),
    and the worst band's relative error (criterion: <= 10%); printed with its sign, so that -15%
    says the samples have 15% too little power in that band.
Exit status 0 when every criterion holds, 1 otherwise. This is a check from outside the product
(numpy + h5py), not part of it.
"""
import argparse
import gzip
import json
import sys

import h5py
import numpy as np

DATA = "/usr/share/datasets/fashion-mnist/"
TEST_IMAGES = DATA + "t10k-images-idx3-ubyte.gz"
TRAIN_IMAGES = DATA + "train-images-idx3-ubyte.gz"
VALIDATION_IMAGES = 1000  # the default of data.validation_images
BANDS = 8


def read_images(path):
    with gzip.open(path) as f:
        raw = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)
    x = np.full((raw.shape[0], 32, 32), -1.0)
    x[:, 2:30, 2:30] = raw / 127.5 - 1.0
    return x


def reference_set(name):
    if name == "test":
        return read_images(TEST_IMAGES)
    return read_images(TRAIN_IMAGES)[-VALIDATION_IMAGES:]


def real_images(n=1000, seed=0):
    """n training images outside the validation split, chosen with a fixed seed."""
    train = read_images(TRAIN_IMAGES)[:-VALIDATION_IMAGES]
    return train[np.random.default_rng(seed).choice(train.shape[0], n, replace=False)]


def relative_error(estimate, reference):
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


def band_index(size):
    """The band of |f| (0 to BANDS - 1, up to 0.5 cycles/px; the corners beyond go to the last)
    of each frequency of a size x size FFT."""
    f = np.fft.fftfreq(size)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    return np.minimum((radius / 0.5 * BANDS).astype(int), BANDS - 1)


def radial_spectrum(images):
    """Mean power per band of |f| of the images minus their mean image."""
    centred = images - images.mean(axis=0, keepdims=True)
    power = (np.abs(np.fft.fft2(centred, norm="ortho")) ** 2).mean(axis=0)
    band = band_index(images.shape[-1])
    return np.array([power[band == b].mean() for b in range(BANDS)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("samples", help="samples.h5 of wsdiff sample, or `real`")
    parser.add_argument("--reference", choices=["validation", "test"], default="validation")
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args()
    if args.samples == "real":
        samples = real_images()
    else:
        with h5py.File(args.samples, "r") as f:
            samples = np.asarray(f["/samples"], dtype=np.float64)
        if samples.ndim != 4 or samples.shape[1] != 1:
            sys.exit(f"{args.samples}: expected /samples [N, 1, H, W], got {samples.shape}")
        samples = samples[:, 0]
    truth = reference_set(args.reference)
    in_range = float((np.abs(samples) <= 1.2).mean())
    mean_error = relative_error(samples.mean(0), truth.mean(0))
    mirrored_mean = 0.5 * (truth.mean(0) + truth.mean(0)[:, ::-1])
    mirrored_mean_error = relative_error(samples.mean(0), mirrored_mean)
    ps, pt = radial_spectrum(samples), radial_spectrum(truth)
    signed_band_errors = ps / pt - 1.0
    band_errors = np.abs(signed_band_errors)
    report = {
        "samples": int(samples.shape[0]),
        "reference": args.reference,
        "share_in_range_1.2": in_range,
        "max_abs_pixel": float(np.abs(samples).max()),
        "mean_image_relative_error": mean_error,
        "mean_image_relative_error_vs_mirrored_reference": mirrored_mean_error,
        "spectrum_band_relative_error": [float(e) for e in signed_band_errors],
        "spectrum_worst_band_error": float(band_errors.max()),
        "passes": bool(in_range >= 0.999 and mean_error <= 0.1 and band_errors.max() <= 0.1),
    }
    print(f"samples                    {report['samples']}")
    print(f"pixels within [-1.2, 1.2]  {100 * in_range:.3f}%  (max |x| {report['max_abs_pixel']:.2f})")
    print(f"mean image rel. error      {100 * mean_error:.1f}%  (against the {args.reference} set and its mirror "
          f"image: {100 * mirrored_mean_error:.1f}%)")
    print("spectrum rel. error/band   " + " ".join(f"{100 * e:+.0f}%" for e in signed_band_errors))
    print(f"passes                     {report['passes']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0 if report["passes"] else 1


if __name__ == "__main__":
    sys.exit(main())

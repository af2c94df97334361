#!/usr/bin/env python3
"""The own-noise experiment's table: per task, PSNR/SSIM of each method from `wsdiff eval`'s
results, and per-image paired differences of the adapted WS prior against the others (95%
Student-t intervals), recomputed here from the reconstructions and the packed truth.

    summarise.py RUN_DIR OUT_DIR

Reads RUN_DIR/eval_<task>/ (adapted WS prior, conventional prior, Wiener) and
RUN_DIR/eval_<task>_shipped/ (the shipped WS prior) as experiments/own_noise/run.sh writes them;
writes OUT_DIR/results.md, OUT_DIR/results.json and OUT_DIR/<task>_figure.png.
"""
import glob
import json
import math
import os
import shutil
import sys

import h5py
import numpy as np

# Student-t 97.5% quantiles for the degrees of freedom a 100-image set has (and a fallback).
T975 = {99: 1.9842, 31: 2.0395}


def psnr(x, truth):
    """PSNR per image with images mapped to [0, 1] and clamped, data range 1 (as wsdiff eval)."""
    a = np.clip((x + 1) / 2, 0, 1)
    b = np.clip((truth + 1) / 2, 0, 1)
    mse = ((a - b) ** 2).reshape(a.shape[0], -1).mean(1)
    return 10 * np.log10(1.0 / mse)


def interval(d):
    n = d.size
    se = d.std(ddof=1) / math.sqrt(n)
    t = T975.get(n - 1, 1.96)
    return float(d.mean()), float(d.mean() - t * se), float(d.mean() + t * se)


def task_dir(eval_dir):
    found = [p for p in glob.glob(os.path.join(eval_dir, "*")) if os.path.isdir(p)]
    if len(found) != 1:
        sys.exit(f"{eval_dir}: expected one task folder, found {found}")
    return found[0]


def main():
    run, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    summary = {}
    lines = ["| task | method | PSNR (dB) | SSIM | data weight |", "|---|---|---|---|---|"]
    paired_lines = ["| task | difference | mean (dB) | 95% CI |", "|---|---|---|---|"]
    for task in ("denoise", "deblur"):
        adapted_dir = task_dir(os.path.join(run, f"eval_{task}"))
        shipped_dir = task_dir(os.path.join(run, f"eval_{task}_shipped"))
        with h5py.File(os.path.join(adapted_dir, "measurements.h5"), "r") as f:
            truth = np.asarray(f["/x_true"], dtype=np.float64)
        results = json.load(open(os.path.join(run, f"eval_{task}", "results.json")))["tasks"][0]
        shipped = json.load(open(os.path.join(run, f"eval_{task}_shipped", "results.json")))["tasks"][0]
        methods = {}
        for label, folder, name, source in [
            ("WS prior adapted to the camera", adapted_dir, "ws_prior", results),
            ("WS prior shipped", shipped_dir, "ws_prior", shipped),
            ("conventional prior", adapted_dir, "conventional_prior", results),
            ("Wiener", adapted_dir, "wiener", results),
        ]:
            with h5py.File(os.path.join(folder, name + ".h5"), "r") as f:
                x = np.asarray(f["/x_hat"], dtype=np.float64)
            m = next(m for m in source["methods"] if m["method"] == name)
            methods[label] = {"psnr": psnr(x, truth), "json": m}
            weight = m.get("lambda", "-")
            lines.append(f"| {task} | {label} | {m['psnr']['mean']:.2f} | {m['ssim']['mean']:.4f} | "
                         f"{weight if isinstance(weight, str) else f'{weight:.3g}'} |")
        adapted = methods["WS prior adapted to the camera"]["psnr"]
        summary[task] = {"n_images": int(truth.shape[0]), "methods": {}, "paired": {}}
        for label, m in methods.items():
            summary[task]["methods"][label] = {"psnr": m["json"]["psnr"], "ssim": m["json"]["ssim"],
                                               "lambda": m["json"].get("lambda")}
            if label.startswith("WS prior adapted"):
                continue
            mean, lo, hi = interval(adapted - m["psnr"])
            summary[task]["paired"][label] = {"mean": mean, "ci95": [lo, hi]}
            paired_lines.append(f"| {task} | adapted WS prior - {label} | {mean:+.2f} | "
                                f"[{lo:+.2f}, {hi:+.2f}] |")
        shipped_psnr = methods["WS prior shipped"]["psnr"]
        mean, lo, hi = interval(shipped_psnr - methods["conventional prior"]["psnr"])
        summary[task]["paired"]["shipped WS prior - conventional prior"] = {"mean": mean,
                                                                           "ci95": [lo, hi]}
        paired_lines.append(f"| {task} | shipped WS prior - conventional prior | {mean:+.2f} | "
                            f"[{lo:+.2f}, {hi:+.2f}] |")
        with h5py.File(os.path.join(adapted_dir, "measurements.h5"), "r") as f:
            y = np.asarray(f["/y"], dtype=np.float64)
        if y.shape == truth.shape:
            summary[task]["measurement_psnr"] = float(psnr(y, truth).mean())
        shutil.copy(os.path.join(adapted_dir, "figure.png"), os.path.join(out, f"{task}_figure.png"))
    text = "\n".join(lines) + "\n\nPaired per image (the same measurements):\n\n" + "\n".join(paired_lines) + "\n"
    open(os.path.join(out, "results.md"), "w").write(text)
    json.dump(summary, open(os.path.join(out, "results.json"), "w"), indent=2)
    print(text)


if __name__ == "__main__":
    main()

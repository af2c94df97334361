#!/usr/bin/env python3
"""Validation-loss curves of training runs, as one PNG (for the model card).

    scripts/research/plot_training.py OUT.png NAME=RUN/metrics.jsonl [NAME=RUN/metrics.jsonl ...]

Reads the `val_loss` records of each run's metrics.jsonl (with `images_seen` from the nearest
earlier progress record) and plots them against images seen. A documentation helper from
outside the product (matplotlib), not part of it.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(path):
    images, losses, seen, batch = [], [], 0, None
    last_step = 0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if "images_seen" in r and r.get("step"):
                seen = r["images_seen"]
                batch = seen / r["step"]
                last_step = r["step"]
            if "val_loss" in r:
                step = r["step"]
                images.append(step * batch if batch else seen)
                losses.append(r["val_loss"])
    return images, losses


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for spec in sys.argv[2:]:
        name, path = spec.split("=", 1)
        x, y = curve(path)
        ax.plot([v / 1000 for v in x], y, marker=".", label=name)
    ax.set_xlabel("images seen (thousands)")
    ax.set_ylabel("validation loss")
    ax.set_title("held-out test images, fixed t and noise", fontsize=9)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

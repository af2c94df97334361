#!/usr/bin/env python3
"""PSNR against network evaluations for the shipped priors on every task of experiments/.

    scripts/nfe_sweep.py [--images N] [--steps 5,10,20,...] [--tasks a,b] [--out experiments/results]

For each task, measurements of its first N test images are simulated once (`wsdiff simulate`),
then solved with each prior of models/ at each number of steps (`wsdiff solve`, the task's own
sampler settings: exponential + proximal, data weight 1) and the mean PSNR/SSIM read from the
solver's output. Writes nfe_sweep.json and nfe_sweep.png (one panel per task) into --out.
Network evaluations per image = steps + 1 (the final Tweedie step). With --tasks, the tasks of an
existing nfe_sweep.json with the same images, steps and prior files (sha256) stay in it. A
driver from outside the product (needs h5py and matplotlib in the project's .venv:
`.venv/bin/pip install matplotlib`). Solves are cached in --work by task, prior and steps: give
a fresh --work when the priors change.
"""
import argparse
import hashlib
import json
import subprocess
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["dehaze", "deblur_dehaze", "denoise_structured", "transport_of_intensity", "idt",
         "deblur_white"]
PRIORS = {"WS prior": "models/fashion_mnist_ws.h5",
          "conventional prior": "models/fashion_mnist_conventional.h5"}


def wsdiff(*args):
    subprocess.run([str(ROOT / "build" / "cli" / "wsdiff"), *args], check=True,
                   capture_output=True, text=True, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=25)
    parser.add_argument("--steps", default="5,10,20,50,100,250")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results"))
    parser.add_argument("--work", default=str(ROOT / "runs" / "nfe_sweep"))
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out)
    results = {"images": args.images, "sampler": "exponential + proximal, lambda 1",
               "evaluations_per_image": [s + 1 for s in steps],
               "priors": {name: {"file": prior, "sha256": hashlib.sha256(
                   (ROOT / prior).read_bytes()).hexdigest()} for name, prior in PRIORS.items()},
               "tasks": {}}
    # Tasks swept earlier with the same settings stay in the file: --tasks adds or redoes some.
    previous = out_dir / "nfe_sweep.json"
    if previous.exists():
        old = json.loads(previous.read_text())
        if (old.get("images"), old.get("evaluations_per_image"), old.get("priors")) == (
                args.images, results["evaluations_per_image"], results["priors"]):
            results["tasks"] = old["tasks"]
    for task in args.tasks.split(","):
        meas = work / f"{task}.h5"
        if not meas.exists():
            wsdiff("simulate", "--config", f"experiments/{task}.yaml", "--n", str(args.images),
                   "--out", str(meas), "--device", "cpu")
        results["tasks"][task] = {}
        for name, prior in PRIORS.items():
            rows = []
            for n in steps:
                out = work / f"{task}_{name.split()[0]}_{n}.h5"
                if not out.exists():  # else a finished solve of an earlier, interrupted sweep
                    wsdiff("solve", "--checkpoint", prior, "--measurements", str(meas), "--out",
                           str(out), "--device", "cpu", "--set", f"sampler.steps={n}",
                           "--set", "sampler.lambda=1", "--set",
                           f"sampler.batch_size={args.images}")
                with h5py.File(out, "r") as f:
                    rows.append({"steps": n, "evaluations": n + 1,
                                 "psnr": float(f["/psnr"][()].mean()),
                                 "ssim": float(f["/ssim"][()].mean()),
                                 "seconds_per_image": float(f.attrs["seconds"]) / args.images})
                print(f"{task} {name} {n} steps: PSNR {rows[-1]['psnr']:.2f} dB", flush=True)
            results["tasks"][task][name] = rows
    (out_dir / "nfe_sweep.json").write_text(json.dumps(results, indent=1))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = [t for t in TASKS if t in results["tasks"]]
    columns = min(3, len(tasks))
    rows_of_panels = (len(tasks) + columns - 1) // columns
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(3.6 * columns, 3.0 * rows_of_panels),
                             squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes.flat, tasks):
        for name, rows in results["tasks"][task].items():
            ax.plot([r["evaluations"] for r in rows], [r["psnr"] for r in rows], "o-",
                    label=name)
        ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("network evaluations per image")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("PSNR (dB)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "nfe_sweep.png", dpi=110)
    print(f"wrote {out_dir / 'nfe_sweep.json'} and {out_dir / 'nfe_sweep.png'}")


if __name__ == "__main__":
    main()

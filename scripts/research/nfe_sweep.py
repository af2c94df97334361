#!/usr/bin/env python3
"""PSNR against network evaluations for the shipped priors on every task of experiments/.

    scripts/research/nfe_sweep.py [--images N] [--steps 5,10,20,...] [--tasks a,b]
                                  [--methods exponential+proximal,dpm_solver_2m+ws,...]
                                  [--reference [--reference-steps 1000]] [--refine-reference]
                                  [--out experiments/results] [--work DIR]

For each task, measurements of its first N test images are simulated once (`wsdiff simulate`).
Each method is a sampler + likelihood step (`sampler.method` + `sampler.likelihood`):
- `exponential+proximal` (the default, the tasks' own setting) needs no data weight: it is
  solved at lambda 1, the noise model as given (`wsdiff solve`);
- `exponential+proximal+validated` is the same step with its scale factor chosen like the
  others' weights (below), as `scripts/run-benchmarks.sh` chooses it from {0.5, 1, 2};
- every other method takes its data weight from --lambda-grid, chosen by `wsdiff eval` on the
  task's validation images of the training split at the same step count (never on the test
  images), then scored on the same N test images; weights beyond an explicit step's stability
  bound are skipped, and a point where none is left is reported and left out.
--reference adds Algorithm 1 of the paper per task and prior: `euler` + `ws` at 1000 steps with
its best lambda of --lambda-grid, chosen the same way; the plot draws it as a dashed line.
--refine-reference then tries a third and three times the chosen weight on the same validation
images and, where one of them is better there, scores that one on the test images instead (the
reference keeps every validation trial, so the JSON shows how the weight was chosen).
Network evaluations per image = steps + 1 (the final Tweedie step), twice the steps for heun.

Writes nfe_sweep.json, nfe_sweep.png and nfe_sweep_ssim.png (one panel per task, PSNR and
SSIM) into --out. Points of an existing
nfe_sweep.json with the same images and prior weights (weights_sha256: the network tensors, so a
re-export that changes only a prior's default sampler or card keeps them) stay in it, so a run
may add tasks, methods or step counts. A driver from outside the product (needs h5py and matplotlib in the
project's .venv). Solves are cached in --work by task, prior, method and steps: give a fresh
--work when the priors change.
"""
import argparse
import hashlib
import json
import subprocess
from pathlib import Path

import h5py

from wsdiff_tools import ROOT, executable

TASKS = ["dehaze", "deblur_dehaze", "denoise_structured", "transport_of_intensity", "idt",
         "deblur_white"]
PRIORS = {"WS prior": "models/fashion_mnist_ws.h5",
          "conventional prior": "models/fashion_mnist_conventional.h5"}
FIXED_WEIGHT = "exponential+proximal"
REFERENCE = "euler+ws"


class NoStableWeight(Exception):
    """No data weight of the grid is stable for an explicit likelihood step at these steps."""


def wsdiff(*args):
    run = subprocess.run([executable(), *args], capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        if "no weight of eval.lambda_grid is stable" in run.stderr:
            raise NoStableWeight()
        raise SystemExit(f"wsdiff {args[0]} failed ({run.returncode}):\n{run.stderr[-2000:]}")


def evaluations(method, steps):
    return 2 * steps + 1 if method.startswith("heun+") else steps + 1


def sampler_and_likelihood(method):
    """`sampler+likelihood[+validated]` -> (sampler, likelihood)."""
    parts = method.split("+")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "validated"):
        raise SystemExit(f"--methods: {method!r} is not sampler+likelihood[+validated]")
    return parts[0], parts[1]


def solve_fixed_weight(task, prior, steps, meas, work, images):
    """exponential + proximal at lambda 1: mean PSNR/SSIM and seconds per image."""
    out = work / f"{task}_{prior_tag(prior)}_{steps}.h5"
    if not out.exists():  # else a finished solve of an earlier, interrupted sweep
        wsdiff("solve", "--checkpoint", PRIORS[prior], "--measurements", str(meas), "--out",
               str(out), "--device", "cpu", "--set", f"sampler.steps={steps}",
               "--set", "sampler.lambda=1", "--set", f"sampler.batch_size={images}")
    with h5py.File(out, "r") as f:
        return {"psnr": float(f["/psnr"][()].mean()), "ssim": float(f["/ssim"][()].mean()),
                "seconds_per_image": float(f.attrs["seconds"]) / images, "lambda": 1.0}


def solve_chosen_weight(task, prior, method, steps, work, images, grid, tag=""):
    """Any sampler + likelihood through `wsdiff eval`: lambda chosen on validation images."""
    sampler, likelihood = sampler_and_likelihood(method)
    out = work / f"eval_{task}_{prior_tag(prior)}_{sampler}_{likelihood}_{steps}{tag}"
    results = out / "results.json"
    if not results.exists():
        wsdiff("eval", "-c", f"experiments/{task}.yaml", "-o", str(out), "--device", "cpu",
               "--set", "eval.methods=[ws_prior]", "--set", f"eval.checkpoint={PRIORS[prior]}",
               "--set", f"eval.n_images={images}", "--set", "eval.save_png=false",
               "--set", f"eval.lambda_grid=[{','.join(str(g) for g in grid)}]",
               "--set", f"sampler.method={sampler}", "--set", f"sampler.likelihood={likelihood}",
               "--set", f"sampler.steps={steps}",
               "--set", f"sampler.batch_size={max(images, 8)}")  # 8 validation images
    row = next(m for task_result in json.loads(results.read_text())["tasks"]
               for m in task_result["methods"] if m["method"] == "ws_prior")
    return {"psnr": row["psnr"]["mean"], "ssim": row["ssim"]["mean"],
            "seconds_per_image": row["seconds_per_image"], "lambda": row["lambda"],
            "validation": {t["lambda"]: t.get("psnr") for t in
                           row.get("lambda_validation", {}).get("trials", [])}}


def weights_sha256(path):
    """sha256 over a checkpoint's network tensors (name and bytes, in name order): what the
    points depend on, unlike the file's hash, which an export of new metadata changes."""
    import h5py
    digest = hashlib.sha256()
    with h5py.File(path) as f:
        names = []
        f["model"].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for name in sorted(names):
            digest.update(name.encode())
            digest.update(f["model"][name][...].tobytes())
    return digest.hexdigest()


def prior_tag(prior):
    return prior.split()[0]


def point(task, prior, method, steps, meas, work, args, grid):
    if method == FIXED_WEIGHT:
        row = solve_fixed_weight(task, prior, steps, meas, work, args.images)
    else:
        try:
            row = solve_chosen_weight(task, prior, method, steps, work, args.images, grid)
        except NoStableWeight:
            print(f"{task} | {prior} | {method} {steps} steps: no stable weight in the grid",
                  flush=True)
            return None
    validation = row.pop("validation", None)
    if method == REFERENCE and validation:
        row["validation_psnr"] = {f"{k:g}": v for k, v in validation.items()}
    row.update({"method": method, "steps": steps, "evaluations": evaluations(method, steps)})
    print(f"{task} | {prior} | {method} {steps} steps: PSNR {row['psnr']:.2f} dB "
          f"(lambda {row['lambda']:g})", flush=True)
    return row


def refine_reference(task, prior, reference, work, args, grid):
    """Algorithm 1 at a third and three times its chosen weight on the validation images, on
    outwards while the best weight is the outermost tried (up to 3 more); the best on those
    images is the one scored on the test images."""
    chosen = reference["lambda"]
    coarse = solve_chosen_weight(task, prior, REFERENCE, args.reference_steps, work, args.images,
                                 grid)  # cached: the validation trials of the coarse grid
    trials = {float(k): v for k, v in coarse["validation"].items()}

    def probe(weights):
        if not weights:
            return
        tag = "_" + "_".join(f"{w:g}" for w in weights)
        try:  # one test image: only the run's validation trials are used
            row = solve_chosen_weight(task, prior, REFERENCE, args.reference_steps, work, 1,
                                      weights, tag=tag)
            trials.update({float(k): v for k, v in row["validation"].items()})
        except NoStableWeight:
            trials.update({w: None for w in weights})

    def best_stable():
        return max((k for k, v in trials.items() if v is not None), key=trials.get)

    probe([w for w in (chosen / 3, chosen * 3) if w not in trials])
    for _ in range(3):
        best = best_stable()
        if best == max(trials) and trials[best] is not None:
            probe([best * 3])
        elif best == min(trials):
            probe([best / 3])
        else:
            break
    best = best_stable()
    shown = {f"{k:g}": trials[k] for k in sorted(trials)}
    if best == chosen:
        return dict(reference, validation_psnr=shown)
    row = solve_chosen_weight(task, prior, REFERENCE, args.reference_steps, work, args.images,
                              [best], tag=f"_chosen_{best:g}")
    row.pop("validation")
    row.update({"method": REFERENCE, "steps": args.reference_steps,
                "evaluations": evaluations(REFERENCE, args.reference_steps),
                "validation_psnr": shown})
    print(f"{task} | {prior} | {REFERENCE} {args.reference_steps} steps, weight refined from "
          f"{chosen:g} to {best:g}: PSNR {row['psnr']:.2f} dB", flush=True)
    return row


def line_style(method):
    if method == FIXED_WEIGHT:
        return "-"
    return "-." if method.endswith("+validated") else ":"


def plot(results, out_dir, metric="psnr"):
    """One panel per task: `metric` against evaluations, nfe_sweep.png (PSNR) or
    nfe_sweep_ssim.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    label = {"psnr": "PSNR (dB)", "ssim": "SSIM"}[metric]
    tasks = [t for t in TASKS if t in results["tasks"]]
    columns = min(3, len(tasks))
    rows_of_panels = (len(tasks) + columns - 1) // columns
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(3.8 * columns, 3.1 * rows_of_panels),
                             squeeze=False)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    colours = {"WS prior": "tab:blue", "conventional prior": "tab:orange"}
    markers = ["o", "s", "^", "v", "D", "x"]
    methods = sorted({r["method"] for t in tasks for p in results["tasks"][t].values()
                      for r in p["points"]}, key=lambda m: (m != FIXED_WEIGHT, m))
    for ax, task in zip(axes.flat, tasks):
        for prior, entry in results["tasks"][task].items():
            for i, method in enumerate(methods):
                rows = sorted((r for r in entry["points"] if r["method"] == method),
                              key=lambda r: r["evaluations"])
                if rows:
                    ax.plot([r["evaluations"] for r in rows], [r[metric] for r in rows],
                            marker=markers[i % len(markers)], markersize=4,
                            color=colours.get(prior), linestyle=line_style(method),
                            label=f"{prior}, {method}")
            if entry.get("reference"):
                ax.axhline(entry["reference"][metric], color=colours.get(prior), linestyle="--",
                           linewidth=1,
                           label=f"{prior}, Algorithm 1 ({entry['reference']['steps']} steps)")
        ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("network evaluations per image")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel(label)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * ((len(labels) + 2) // 3), 1, 1))
    name = "nfe_sweep.png" if metric == "psnr" else f"nfe_sweep_{metric}.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=25)
    parser.add_argument("--steps", default="5,10,20,50,100,250")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--methods", default=FIXED_WEIGHT)
    parser.add_argument("--lambda-grid", default="0.1,0.3,1,3,10,30,100",
                        help="data weights the methods other than exponential+proximal and "
                             "the reference choose from")
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--reference-steps", type=int, default=1000)
    parser.add_argument("--refine-reference", action="store_true",
                        help="try a third and three times Algorithm 1's chosen weight too")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results"))
    parser.add_argument("--work", default=str(ROOT / "runs" / "nfe_sweep"))
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    grid = [float(g) for g in args.lambda_grid.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {"images": args.images,
               "methods": {FIXED_WEIGHT: "lambda 1 (the noise model as given)",
                           "other": "lambda from the grid, chosen on validation images",
                           "reference": f"Algorithm 1: euler + ws, {args.reference_steps} steps, "
                                        "best lambda"},
               "priors": {name: {"file": prior,
                                 "sha256": hashlib.sha256((ROOT / prior).read_bytes()).hexdigest(),
                                 "weights_sha256": weights_sha256(ROOT / prior)}
                          for name, prior in PRIORS.items()},
               "tasks": {}}
    previous = out_dir / "nfe_sweep.json"
    if previous.exists():
        old = json.loads(previous.read_text())
        weights = lambda priors: {n: p.get("weights_sha256") for n, p in priors.items()}
        if (old.get("images") == args.images and
                weights(old.get("priors", {})) == weights(results["priors"])):
            results["tasks"] = old["tasks"]
    for task in args.tasks.split(","):
        meas = work / f"{task}.h5"
        if not meas.exists():
            wsdiff("simulate", "--config", f"experiments/{task}.yaml", "--n", str(args.images),
                   "--out", str(meas), "--device", "cpu")
        for prior in PRIORS:
            entry = results["tasks"].setdefault(task, {}).setdefault(prior, {"points": []})
            for method in [m for m in args.methods.split(",") if m]:
                for n in steps:
                    row = point(task, prior, method, n, meas, work, args, grid)
                    entry["points"] = [r for r in entry["points"]
                                       if (r["method"], r["steps"]) != (method, n)]
                    if row:
                        entry["points"].append(row)
            if args.reference:
                entry["reference"] = point(task, prior, REFERENCE, args.reference_steps, meas,
                                           work, args, grid)
            if args.refine_reference and entry.get("reference"):
                entry["reference"] = refine_reference(task, prior, entry["reference"], work, args,
                                                      grid)
            (out_dir / "nfe_sweep.json").write_text(json.dumps(results, indent=1))
    plot(results, out_dir, "psnr")
    plot(results, out_dir, "ssim")
    print(f"wrote {out_dir / 'nfe_sweep.json'}, nfe_sweep.png and nfe_sweep_ssim.png")


if __name__ == "__main__":
    main()

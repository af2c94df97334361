"""Python against the CLI on one solve: ``python -m wsdiff.bench``.

Simulates a task's measurements with ``wsdiff simulate``, then solves them alternately with
``wsdiff solve`` and with ``wsdiff.solve`` (the same prior, sampler and seeds), ``--repeats``
times each, and prints the median solve time of each (as each reports it: the reconstruction
alone, without loading) and the wall time of the whole call (loading included), and checks that
both gave the same PSNR. Prints one JSON object with ``--json``.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import h5py
import torch

import wsdiff

# Run from the repository root: the defaults are its build, task config and shipped prior.
ROOT = pathlib.Path.cwd()


def main():
    parser = argparse.ArgumentParser(prog="python -m wsdiff.bench", description=__doc__)
    parser.add_argument("--wsdiff", default=os.environ.get("WSDIFF",
                                                           str(ROOT / "build/cli/wsdiff")))
    parser.add_argument("--config", default=str(ROOT / "experiments/deblur_dehaze.yaml"))
    parser.add_argument("--checkpoint", default=str(ROOT / "models/fashion_mnist_ws.h5"))
    parser.add_argument("--n", type=int, default=16, help="measurements")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}

    with tempfile.TemporaryDirectory(prefix="wsdiff-bench-") as tmp:
        m_path = pathlib.Path(tmp) / "m.h5"
        subprocess.run([args.wsdiff, "simulate", "-c", args.config, "-n", str(args.n), "-o",
                        str(m_path)], check=True, capture_output=True, env=env)
        cli_solve, cli_wall, py_solve, py_wall = [], [], [], []
        cli_psnr = py_psnr = None
        for _ in range(args.repeats):
            out = pathlib.Path(tmp) / "x.h5"
            start = time.perf_counter()
            subprocess.run([args.wsdiff, "solve", "--checkpoint", args.checkpoint,
                            "--measurements", str(m_path), "-o", str(out), "--device", "cpu"],
                           check=True, capture_output=True, env=env)
            cli_wall.append(time.perf_counter() - start)
            with h5py.File(out) as f:
                cli_solve.append(float(f.attrs["seconds"]))
                cli_psnr = float(f["/psnr"][...].mean())

            start = time.perf_counter()
            prior = wsdiff.load_prior(args.checkpoint)
            result = wsdiff.solve(prior, wsdiff.load_measurements(m_path))
            py_wall.append(time.perf_counter() - start)
            py_solve.append(result.seconds)
            py_psnr = float(result.psnr.mean())

    report = {
        "device": "cpu", "threads": args.threads, "measurements": args.n,
        "config": os.path.relpath(args.config, ROOT), "repeats": args.repeats,
        "cli": {"solve_s": statistics.median(cli_solve), "wall_s": statistics.median(cli_wall),
                "psnr": cli_psnr},
        "python": {"solve_s": statistics.median(py_solve), "wall_s": statistics.median(py_wall),
                   "psnr": py_psnr},
    }
    report["python_over_cli_solve"] = report["python"]["solve_s"] / report["cli"]["solve_s"]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.n} measurements of {report['config']}, {args.threads} thread(s), median of "
          f"{args.repeats}")
    print(f"{'':8} {'solve (s)':>10} {'wall (s)':>10} {'PSNR (dB)':>10}")
    for name in ("cli", "python"):
        r = report[name]
        print(f"{name:8} {r['solve_s']:10.3f} {r['wall_s']:10.3f} {r['psnr']:10.4f}")
    print(f"python / cli solve time: {report['python_over_cli_solve']:.3f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Hostile-input and fault battery for the wsdiff executable, run from outside the product.

    scripts/reliability_battery.py [--wsdiff build/cli/wsdiff] [--work DIR]

Every case runs the real executable on real files (a shipped prior, measurements simulated by
`wsdiff simulate`, a small Fashion-MNIST training run) and is counted in one of two classes:

  bad input  the run must end with exit 2 and a last stderr line "wsdiff <cmd>: error: ..."
             that names what is wrong (the file, dataset, key or option given in the case),
             without writing the output it was asked for;
  fault      a fault during a run (full disk, a stop signal to one rank or early in a run, a
             writer killed mid-checkpoint, a diverging sampler) must end as the case states:
             the stated exit code, previous checkpoints intact, no temporaries left behind.

The bad inputs include the edges of the exit-code contract: an output that is one of the
inputs (directly, through `..` or a link) with the input kept; measurement files that are
missing, empty, junk, truncated, a folder or wrong inside; outputs of the wrong kind; `import` of
a file whose name holds shell text or whose unpickling would run code; links planted in a run
folder; a fresh `train` into a finished run. The same classes run in ctest (CliExitCodes,
CliOutputPaths, CliImportSafety, CliRunDirectory), where they are quick.

Prints one line per case and the two counts; exit status 0 when every case passes. Needs numpy
and h5py (the project's .venv has both) and `prlimit` (util-linux).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PRIOR = ROOT / "models" / "fashion_mnist_ws.h5"
TINY = [
    "data.image_size=16", "model.image_size=16", "model.n_channels=32", "model.ch_mults=[1]",
    "model.is_attn=[false]", "train.batch_size=8", "data.workers=0", "train.device=cpu",
    "train.sample_every=0", "train.validate_every=0", "train.log_every=5", "data.limit=256",
]


class Battery:
    def __init__(self, wsdiff, work):
        self.wsdiff = str(Path(wsdiff).resolve())
        self.work = Path(work)
        self.results = []

    # --- helpers -------------------------------------------------------------------------
    def run(self, args, env=None, timeout=600, prefix=()):
        full_env = dict(os.environ, OMP_NUM_THREADS="1")
        full_env.update(env or {})
        return subprocess.run(list(prefix) + [self.wsdiff] + list(args), capture_output=True,
                              text=True, env=full_env, timeout=timeout)

    def train_args(self, out, steps, extra=()):
        args = ["train", "--config", str(ROOT / "configs" / "demo_fashion_mnist.yaml"), "--out",
                str(out), "--resume", "auto"]
        for s in TINY + [f"train.steps={steps}"] + list(extra):
            args += ["--set", s]
        return args

    def record(self, kind, name, ok, detail):
        self.results.append((kind, name, ok))
        print(f"[{'pass' if ok else 'FAIL'}] {kind:9s} {name}: {detail}", flush=True)

    def bad_input(self, name, args, names, must_not_exist=None, env=None):
        r = self.run(args, env=env)
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        ok = (r.returncode == 2 and " error: " in last and last.startswith("wsdiff")
              and all(n in last for n in names) and len(last) < 600)
        if must_not_exist is not None and Path(must_not_exist).exists():
            ok = False
        self.record("bad input", name, ok, f"exit {r.returncode}: {last[:220]}")

    def measurements(self, task="dehaze", n=2):
        path = self.work / f"meas_{task}.h5"
        if not path.exists():
            r = self.run(["simulate", "--config", str(ROOT / "experiments" / f"{task}.yaml"),
                          "--n", str(n), "--out", str(path), "--device", "cpu"])
            if r.returncode != 0:
                raise RuntimeError(r.stderr)
        return path

    def with_y(self, source, target, y):
        shutil.copy(source, target)
        with h5py.File(target, "r+") as f:
            del f["/y"]
            f["/y"] = y
        return target

    def tmp_files(self, folder):
        return [p for p in Path(folder).glob("*") if ".tmp-" in p.name]

    # --- bad inputs ----------------------------------------------------------------------
    def bad_inputs(self):
        meas = self.measurements()
        with h5py.File(meas, "r") as f:
            y = f["/y"][()]
        never = self.work / "never.h5"
        solve = ["solve", "--checkpoint", str(PRIOR), "--out", str(never), "--device", "cpu",
                 "--measurements"]

        nan_prior = self.work / "nan_prior.h5"
        shutil.copy(PRIOR, nan_prior)
        with h5py.File(nan_prior, "r+") as f:
            group = f["/ema"] if "/ema" in f else f["/model"]
            name = sorted(group.keys())[0]
            while isinstance(group[name], h5py.Group):
                group = group[name]
                name = sorted(group.keys())[0]
            data = group[name][()]
            data.flat[0] = np.nan
            attrs = dict(group[name].attrs)
            del group[name]
            group[name] = data
            for k, v in attrs.items():
                if k != "crc32":
                    group[name].attrs[k] = v
        self.bad_input("sample with NaN weights", ["sample", "--checkpoint", str(nan_prior),
                       "--out", str(self.work / "s_nan"), "--n", "2", "--steps", "2"],
                       ["NaN"], self.work / "s_nan" / "samples.h5")
        self.bad_input("solve with NaN weights", ["solve", "--checkpoint", str(nan_prior),
                       "--measurements", str(meas), "--out", str(never)], ["NaN"], never)

        bad = y.copy()
        bad[0, 0, 3, 3] = np.nan
        self.bad_input("NaN in /y", solve + [str(self.with_y(meas, self.work / "y_nan.h5", bad))],
                       ["y_nan.h5", "/y"], never)
        bad = y.copy()
        bad[1, 0, 0, 0] = np.inf
        self.bad_input("Inf in /y", solve + [str(self.with_y(meas, self.work / "y_inf.h5", bad))],
                       ["y_inf.h5", "/y"], never)
        big = np.zeros((2, 1, 64, 64), np.float32)
        self.bad_input("64x64 /y for a 32x32 task",
                       solve + [str(self.with_y(meas, self.work / "y_64.h5", big))],
                       ["y_64.h5", "/y", "64"], never)
        small = np.zeros((2, 1, 16, 16), np.float32)
        self.bad_input("16x16 /y for a 32x32 task",
                       solve + [str(self.with_y(meas, self.work / "y_16.h5", small))],
                       ["y_16.h5", "/y"], never)
        self.bad_input("/y without a channel axis",
                       solve + [str(self.with_y(meas, self.work / "y_3d.h5", y[:, 0]))],
                       ["y_3d.h5", "/y"], never)
        self.bad_input("/y a string",
                       solve + [str(self.with_y(meas, self.work / "y_str.h5", "text"))],
                       ["y_str.h5", "/y"], never)
        self.bad_input("lambda 1e4 with the ws step", solve + [str(meas), "--set",
                       "sampler.likelihood=ws", "--set", "sampler.method=euler", "--set",
                       "sampler.lambda=1e4"], ["sampler.lambda", "stable only for lambda <"], never)
        blur = self.measurements("deblur_dehaze")
        self.bad_input("lambda 30 at 100 euler steps (deblur_dehaze)", solve + [str(blur),
                       "--set", "sampler.likelihood=ws", "--set", "sampler.method=euler", "--set",
                       "sampler.steps=100", "--set", "sampler.lambda=30"],
                       ["stable only for lambda < 20"], never)
        self.bad_input("solve --set task.operator", solve + [str(meas), "--set",
                       "task.operator=identity"], ["task.operator", "fixes the task"], never)

        def predict_input(name, x, t):
            path = self.work / name
            with h5py.File(path, "w") as f:
                f["/x"] = x
                f["/t"] = t
            return path
        x = np.zeros((2, 1, 32, 32), np.float32)
        for name, xi, ti, key in [
                ("predict /t outside [0, 1]", x, np.array([0.5, 2.0]), "/t"),
                ("predict NaN /x", np.full_like(x, np.nan), np.array([0.5, 0.5]), "/x"),
                ("predict 3-channel /x for a 1-channel network", np.zeros((2, 3, 32, 32),
                 np.float32), np.array([0.5, 0.5]), "/x")]:
            path = predict_input(name.replace(" ", "_").replace("/", "") + ".h5", xi, ti)
            self.bad_input(name, ["predict", "--checkpoint", str(PRIOR), "--input", str(path),
                                  "--out", str(self.work / "pred.h5")], [key])
        same = predict_input("predict_same.h5", x, np.array([0.5, 0.5]))
        self.bad_input("predict --out equal to --input", ["predict", "--checkpoint", str(PRIOR),
                       "--input", str(same), "--out", str(same)], ["--out"])
        with h5py.File(same, "r") as f:
            if "/x" not in f:
                self.record("bad input", "predict input kept", False, "input destroyed")

        run = self.work / "flip_run"
        shutil.rmtree(run, ignore_errors=True)
        r = self.run(self.train_args(run, 2))
        last = run / "checkpoints" / "last.h5"
        if r.returncode == 0 and last.exists():
            flipped = self.work / "flipped.h5"
            with h5py.File(last, "r") as f:
                name = sorted(f["/optimizer"].keys())[0]
                obj = f["/optimizer"][name]
                ds = obj[sorted(obj.keys())[0]] if isinstance(obj, h5py.Group) else obj
                offset, size = ds.id.get_offset(), ds.id.get_storage_size()
            data = bytearray(last.read_bytes())
            for i in range(offset, offset + min(size, 4096)):
                data[i] ^= 0xFF
            flipped.write_bytes(bytes(data))
            self.bad_input("4 KB flipped in the optimizer group: info", ["info", str(flipped)],
                           ["checksum"])
            self.bad_input("4 KB flipped in the optimizer group: sample", ["sample",
                           "--checkpoint", str(flipped), "--out", str(self.work / "s_flip"),
                           "--n", "1", "--steps", "2"], ["checksum"])
        else:
            self.record("bad input", "bit flip setup", False, r.stderr[-300:])

        self.bad_input("data.workers=100000", self.train_args(self.work / "w", 2,
                       ["data.workers=100000"]), ["data.workers"])
        sample = ["sample", "--checkpoint", str(PRIOR), "--out", str(self.work / "s")]
        self.bad_input("sample --steps 0", sample + ["--steps", "0"], ["--steps"])
        self.bad_input("sample --steps -3", sample + ["--steps", "-3"], ["--steps"])
        self.bad_input("sample --n 0", sample + ["--n", "0"], ["--n"])
        self.bad_input("sample --n 2000000000", sample + ["--n", "2000000000"], ["--n"])

        blocker = self.work / "a_file"
        blocker.write_text("x")
        self.bad_input("solve into an unwritable --out", ["solve", "--checkpoint", str(PRIOR),
                       "--measurements", str(meas), "--out", str(blocker / "r.h5")], ["--out"])
        self.bad_input("sample into an unwritable --out", ["sample", "--checkpoint", str(PRIOR),
                       "--out", str(blocker / "s"), "--n", "1"], ["--out"])
        self.bad_input("simulate into an unwritable --out", ["simulate", "--config",
                       str(ROOT / "experiments" / "dehaze.yaml"), "--n", "1", "--out",
                       str(blocker / "m.h5")], ["--out"])
        self.bad_input("unresolvable MASTER_ADDR", self.train_args(self.work / "addr", 2),
                       ["MASTER_ADDR"], env={"RANK": "0", "WORLD_SIZE": "2",
                                             "MASTER_ADDR": "no-such-host.invalid",
                                             "MASTER_PORT": "29555"})
        self.two_rank_cases()

    def ranks(self, run, steps, rank1_extra=(), rank1_prefix=()):
        port = str(29600 + os.getpid() % 300)
        procs = []
        for r in range(2):
            env = dict(os.environ, RANK=str(r), WORLD_SIZE="2", LOCAL_RANK=str(r),
                       MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1")
            args = self.train_args(run, steps, rank1_extra if r == 1 else ())
            procs.append(subprocess.Popen([self.wsdiff] + args, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env))
        return procs

    def two_rank_cases(self):
        run = self.work / "different_configs"
        for name, difference in [("networks", "model.n_channels=64"),
                                 ("step counts", "train.steps=12")]:
            shutil.rmtree(run, ignore_errors=True)
            procs = self.ranks(run, 6, [difference])
            outs = [p.communicate(timeout=300) for p in procs]
            ok = all(p.returncode == 2 and "configs differ" in o[1] for p, o in zip(procs, outs))
            self.record("bad input", f"ranks with different {name}", ok,
                        " | ".join(f"exit {p.returncode}" for p in procs))

        run = self.work / "shared_out"
        shutil.rmtree(run, ignore_errors=True)
        first = subprocess.Popen([self.wsdiff] + self.train_args(run, 400),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        second = self.run(self.train_args(run, 400))
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=300)
        last = second.stderr.strip().splitlines()[-1] if second.stderr.strip() else ""
        self.record("bad input", "two runs into one --out", second.returncode == 2 and
                    "pid" in last and str(run) in last, f"exit {second.returncode}: {last[:200]}")

    # --- edges: inputs never destroyed, no shell or unpickling, one exit-code contract ---
    def kept(self, name, path, before):
        after = Path(path).read_bytes() if Path(path).exists() else None
        self.record("bad input", name, after == before, "intact" if after == before else "CHANGED")

    def edges(self):
        meas = self.measurements()
        never = self.work / "never.h5"
        solve = ["solve", "--checkpoint", str(PRIOR), "--out", str(never), "--measurements"]

        # An output that is one of the inputs, directly, through `..` or through a link.
        (self.work / "sub").mkdir(exist_ok=True)
        link = self.work / "link_to_meas.h5"
        if not link.exists():
            link.symlink_to(meas)
        original = meas.read_bytes()
        for how, out in [("itself", meas), ("sub/..", self.work / "sub" / ".." / meas.name),
                         ("a link", link)]:
            self.bad_input(f"solve --out is --measurements ({how})",
                           ["solve", "--checkpoint", str(PRIOR), "--measurements", str(meas),
                            "--out", str(out)], ["--measurements"])
            self.kept(f"measurements kept ({how})", meas, original)
        prior = self.work / "prior_copy.h5"
        shutil.copy(PRIOR, prior)
        before = prior.read_bytes()
        self.bad_input("solve --out is --checkpoint", ["solve", "--checkpoint", str(prior),
                       "--measurements", str(meas), "--out", str(prior)], ["--checkpoint"])
        self.kept("checkpoint kept", prior, before)
        task = self.work / "task.yaml"
        shutil.copy(ROOT / "experiments" / "dehaze.yaml", task)
        before = task.read_bytes()
        self.bad_input("simulate --out is --config", ["simulate", "-c", str(task), "--out",
                       str(task)], ["--config"])
        self.kept("task config kept", task, before)

        # Bad measurement paths: exit 2 naming the file, like a damaged checkpoint.
        junk = self.work / "m_junk.h5"
        junk.write_text("no HDF5 here")
        empty = self.work / "m_empty.h5"
        empty.write_bytes(b"")
        truncated = self.work / "m_truncated.h5"
        truncated.write_bytes(original[:len(original) // 2])
        folder = self.work / "m_folder.h5"
        folder.mkdir(exist_ok=True)
        for name, path in [("missing", self.work / "m_missing.h5"), ("empty", empty),
                           ("junk", junk), ("truncated", truncated), ("a folder", folder)]:
            self.bad_input(f"{name} measurement file", solve + [str(path)], [path.name], never)

        def altered(name, edit):
            path = self.work / name
            shutil.copy(meas, path)
            with h5py.File(path, "r+") as f:
                edit(f)
            return path

        def zero_images(f):
            shape = f["/y"].shape
            for key in ("/y", "/x_true", "/seeds"):
                if key in f:
                    del f[key]
            f["/y"] = np.zeros((0,) + shape[1:], np.float32)

        for name, edit, words in [
                ("no config attribute", lambda f: f.attrs.__delitem__("config"), ["config"]),
                ("0 images", zero_images, ["0 measurements"]),
                ("format_version 99", lambda f: f.attrs.__setitem__("format_version", 99),
                 ["99", "reads version 1"]),
                ("operator contradicting its config",
                 lambda f: f.attrs.__setitem__("operator", "laplace"), ["laplace", "identity"])]:
            path = altered("m_" + name.replace(" ", "_") + ".h5", edit)
            self.bad_input(f"measurement file with {name}", solve + [str(path)],
                           [path.name] + words, never)

        a_file = self.work / "a_plain_file"
        a_file.write_text("x")
        self.bad_input("eval -o a file", ["eval", "-c", str(task), "-o", str(a_file)],
                       [a_file.name])
        self.bad_input("noise --out a folder", ["noise", "--out", str(folder)], [folder.name])

        # Messages.
        self.bad_input("simulate --n 0", ["simulate", "-c", str(task), "--out",
                       str(self.work / "m0.h5"), "--n", "0"], ["--n: must be at least 1"])
        self.bad_input("unknown subcommand", ["frobnicate"], ["frobnicate", "train", "solve"])
        self.bad_input("solve sampler.steps=1e9", solve + [str(meas), "--set",
                       "sampler.steps=1000000000"], ["sampler.steps"], never)
        self.bad_input("eval.statistics_images=1", ["eval", "-c", str(task), "-o",
                       str(self.work / "e1"), "--set", "eval.statistics_images=1"],
                       ["eval.statistics_images"])

        # No shell, no unpickling, no links followed.
        python = ROOT / ".venv" / "bin" / "python"
        shell = self.work / "shell"
        shutil.rmtree(shell, ignore_errors=True)
        shell.mkdir()
        named = shell / "w';touch pwned;'.pth"
        subprocess.run([str(python), "-c", "import sys, torch; torch.save({'a': torch.zeros(2)}, "
                        "sys.argv[1])", str(named)], check=True)
        r = subprocess.run([self.wsdiff, "import", "--from", str(named), "--out", "o.h5"],
                           cwd=shell, capture_output=True, text=True)
        self.record("bad input", "import of a file named ';touch pwned;'",
                    r.returncode == 2 and not (shell / "pwned").exists(), f"exit {r.returncode}")
        marker = self.work / "pickle_ran"
        marker.unlink(missing_ok=True)
        crafted = self.work / "crafted.pth"
        subprocess.run([str(python), "-c",
                        "import sys, torch\n"
                        "class P:\n"
                        "    def __reduce__(self):\n"
                        "        return (open, (sys.argv[2], 'w'))\n"
                        "torch.save({'model_state_dict': {}, 'x': P()}, sys.argv[1])\n",
                        str(crafted), str(marker)], check=True)
        self.bad_input("import of a pickle that runs code", ["import", "--from", str(crafted),
                       "--out", str(self.work / "c.h5")], ["crafted.pth", "unsafe unpickling"])
        self.record("bad input", "crafted pickle ran no code", not marker.exists(),
                    "no file" if not marker.exists() else "FILE CREATED")

        victim = self.work / "victim.txt"
        for name in (".lock", "wsdiff.log", "metrics.jsonl"):
            victim.write_text("precious")
            run = self.work / f"planted{name}"
            shutil.rmtree(run, ignore_errors=True)
            run.mkdir()
            (run / name).symlink_to(victim)
            self.bad_input(f"run folder with a planted {name} link", self.train_args(run, 2),
                           [name, "symbolic link"])
            self.kept(f"{name} link target", victim, b"precious")

        run = self.work / "second_fresh"
        shutil.rmtree(run, ignore_errors=True)
        fresh = [a for a in self.train_args(run, 2) if a not in ("--resume", "auto")]
        self.run(fresh)
        last = run / "checkpoints" / "last.h5"
        before = last.read_bytes() if last.exists() else None
        self.bad_input("a second fresh train into a finished run", fresh,
                       ["--resume", "--overwrite"])
        self.kept("finished run's checkpoint", last, before)

    # --- faults --------------------------------------------------------------------------
    def faults(self):
        run = self.work / "disk_full"
        shutil.rmtree(run, ignore_errors=True)
        self.run(self.train_args(run, 2))
        last = run / "checkpoints" / "last.h5"
        before = last.read_bytes() if last.exists() else b""
        (run / "checkpoints").mkdir(parents=True, exist_ok=True)
        r = self.run(self.train_args(run, 4),
                     prefix=["prlimit", f"--fsize={max(len(before) // 2, 1)}", "--"])
        ok = (r.returncode == 1 and "cannot write checkpoint" in r.stderr and
              last.read_bytes() == before and not self.tmp_files(run / "checkpoints"))
        self.record("fault", "disk full while writing a checkpoint", ok,
                    f"exit {r.returncode}, temporaries {len(self.tmp_files(run / 'checkpoints'))}")

        stale = run / "checkpoints" / "step_9.h5.tmp-4194305"
        stale.write_text("half")
        r = self.run(self.train_args(run, 4))
        self.record("fault", "stale temporary of a killed writer", r.returncode == 0 and
                    not stale.exists(), f"exit {r.returncode}, left: {stale.exists()}")

        run = self.work / "stop_one_rank"
        shutil.rmtree(run, ignore_errors=True)
        procs = self.ranks(run, 100000)
        metrics = run / "metrics.jsonl"
        for _ in range(1200):
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
                break
            time.sleep(0.1)
        procs[1].send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=300) for p in procs]
        ok = all(p.returncode == 0 for p in procs) and (run / "checkpoints" / "last.h5").exists()
        self.record("fault", "SIGTERM to one rank of two", ok,
                    " | ".join(f"exit {p.returncode}" for p in procs))

        for delay in (0.05, 0.1, 0.3, 1.0):
            run = self.work / f"early_stop_{delay}"
            shutil.rmtree(run, ignore_errors=True)
            p = subprocess.Popen([self.wsdiff] + self.train_args(run, 100000),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=300)
            self.record("fault", f"SIGTERM {delay} s after start", p.returncode == 0,
                        f"exit {p.returncode}: {err.strip().splitlines()[-1][:160] if err.strip() else ''}")

        run = self.work / "kill9"
        shutil.rmtree(run, ignore_errors=True)
        p = subprocess.Popen([self.wsdiff] + self.train_args(run, 100000,
                             ["train.checkpoint_every=1"]), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        for _ in range(1200):
            if (run / "checkpoints" / "step_3.h5").exists():
                break
            time.sleep(0.05)
        time.sleep(0.37)
        p.kill()
        p.communicate()
        with h5py.File(run / "checkpoints" / "last.h5", "r") as f:
            step = int(f["/train_state"].attrs["step"])
        r = self.run(self.train_args(run, step + 3, ["train.checkpoint_every=1"]))
        self.record("fault", "kill -9 during checkpointing, then resume", r.returncode == 0 and
                    "resum" in r.stderr and not self.tmp_files(run / "checkpoints"),
                    f"exit {r.returncode}")

        meas = self.measurements()
        out = self.work / "diverged.h5"
        r = self.run(["solve", "--checkpoint", str(PRIOR), "--measurements", str(meas), "--out",
                      str(out), "--set", "sampler.likelihood=normalised_gradient", "--set",
                      "sampler.method=euler", "--set", "sampler.lambda=1e8"])
        self.record("fault", "diverging sampler", r.returncode == 1 and "diverged" in r.stderr
                    and not out.exists(), f"exit {r.returncode}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wsdiff", default=str(ROOT / "build" / "cli" / "wsdiff"))
    parser.add_argument("--work", default=str(ROOT / "runs" / "battery"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    battery = Battery(args.wsdiff, work)
    battery.bad_inputs()
    battery.edges()
    battery.faults()
    for kind in ("fault", "bad input"):
        cases = [ok for k, _, ok in battery.results if k == kind]
        print(f"{kind}: {sum(cases)} / {len(cases)} handled")
    return 0 if all(ok for _, _, ok in battery.results) else 1


if __name__ == "__main__":
    sys.exit(main())

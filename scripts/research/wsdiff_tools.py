"""What the research tools take from the wsdiff executable, in one place.

The maths lives in wsdiff, and these tools ask it rather than restate it:
  - a checkpoint's resolved config (its `config` attribute, the YAML `wsdiff info --config`
    prints) and the parameterisation and score sign stored with its weights;
  - structured noise drawn by the product's own generator, and its analytic power spectrum
    (`wsdiff noise`), for the family and settings of that config;
  - the network's output, its E[x_0 | x_t] and whitened score on given states, and the
    schedule's alpha_t and sigma_t (`wsdiff predict`), for any parameterisation and schedule.

The executable is ./build/cli/wsdiff, or the file named by $WSDIFF. Needs numpy and h5py (the
project's .venv has both).
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def executable():
    path = Path(os.environ.get("WSDIFF", ROOT / "build" / "cli" / "wsdiff"))
    if not path.exists():
        sys.exit(f"no wsdiff executable at {path}: build it (./scripts/test.sh or "
                 "./scripts/demo.sh) or set WSDIFF")
    return str(path)


def wsdiff(*args):
    """Runs `wsdiff ARGS`; returns its stdout, exits on failure."""
    run = subprocess.run([executable(), "--log-level", "warn", *map(str, args)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"wsdiff {args[0]} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return run.stdout


# --- configs -------------------------------------------------------------------------------

def checkpoint_config_text(checkpoint):
    """The resolved YAML config a checkpoint was trained with (its root attribute `config`)."""
    with h5py.File(checkpoint, "r") as f:
        text = f.attrs["config"]
    return text.decode() if isinstance(text, bytes) else str(text)


def resolved_config_text(config, overrides=()):
    """A config file with --set overrides, validated and fully resolved by `wsdiff info
    --config`."""
    args = ["info", "--config", config]
    for assignment in overrides:
        args += ["--set", assignment]
    return wsdiff(*args)


def _scalar(text):
    text = text.strip()
    if text.startswith('"'):
        return text[1:text.index('"', 1)]
    text = re.split(r"\s+#", text, maxsplit=1)[0].strip()
    if text.startswith("["):
        return [_scalar(v) for v in text[1:text.rindex("]")].split(",") if v.strip()]
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_config(text):
    """The nested {section: {key: value}} of a resolved config as wsdiff writes it: block
    mappings of scalars and flow lists, one key per line, comments after the values."""
    root = {}
    stack = [(-1, root)]
    for line in text.splitlines():
        match = re.match(r"^(\s*)([A-Za-z_0-9]+):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if re.split(r"\s+#", rest, maxsplit=1)[0].strip() == "":
            parent[key] = {}
            stack.append((indent, parent[key]))
        else:
            parent[key] = _scalar(rest)
    return root


def model_info(checkpoint):
    """(parameterisation, score_sign) stored with a checkpoint's weights; they override its
    embedded config."""
    with h5py.File(checkpoint, "r") as f:
        attrs = f["/model"].attrs
        parameterisation = attrs["parameterisation"]
        if isinstance(parameterisation, bytes):
            parameterisation = parameterisation.decode()
        return str(parameterisation), int(attrs["score_sign"])


# --- the forward process -------------------------------------------------------------------

class Schedule:
    """alpha_t and sigma_t of a checkpoint's forward process, from `wsdiff predict` (its input
    without /x: the schedule only, whatever the process and schedule)."""

    def __init__(self, checkpoint, config):
        self.checkpoint = checkpoint
        self.t_eps = float(config["model"]["t_eps"])

    def alpha_sigma(self, t):
        t = np.asarray(t, np.float64)
        with tempfile.TemporaryDirectory() as work:
            inputs, outputs = Path(work) / "in.h5", Path(work) / "out.h5"
            with h5py.File(inputs, "w") as f:
                f["t"] = t.reshape(-1)
            wsdiff("predict", "--checkpoint", self.checkpoint, "--input", inputs, "--out",
                   outputs)
            with h5py.File(outputs, "r") as f:
                alpha, sigma = np.asarray(f["alpha"]), np.asarray(f["sigma"])
        return alpha.reshape(t.shape), sigma.reshape(t.shape)


def noise(config_text, n, seed=0, overrides=()):
    """n noise fields [n, C, H, W] (float64) drawn by `wsdiff noise` for the config's `noise`
    section and data shape, with --set overrides; image i uses seed + i."""
    with tempfile.TemporaryDirectory() as work:
        config, out = Path(work) / "config.yaml", Path(work) / "noise.h5"
        config.write_text(config_text)
        args = ["noise", "--config", config, "--n", n, "--seed", seed, "--out", out]
        for assignment in overrides:
            args += ["--set", assignment]
        wsdiff(*args)
        with h5py.File(out, "r") as f:
            return np.asarray(f["/noise"], np.float64)


def noise_power(config_text, overrides=()):
    """The noise's analytic power spectrum k^2 on the full H x W FFT grid of a square image:
    `wsdiff noise` writes it on the rfft half-grid [H, W/2 + 1], and k^2(-f) = k^2(f) gives the
    rest. Its mean over the grid is the pixel variance."""
    with tempfile.TemporaryDirectory() as work:
        config, out = Path(work) / "config.yaml", Path(work) / "noise.h5"
        config.write_text(config_text)
        args = ["noise", "--config", config, "--n", 1, "--out", out]
        for assignment in overrides:
            args += ["--set", assignment]
        wsdiff(*args)
        with h5py.File(out, "r") as f:
            half = np.asarray(f["/psd"], np.float64)
    half = half.reshape(half.shape[-2], half.shape[-1])
    size = half.shape[0]
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    stored = cols < half.shape[1]
    return np.where(stored, half[rows, np.minimum(cols, half.shape[1] - 1)],
                    half[(-rows) % size, np.minimum((-cols) % size, half.shape[1] - 1)])


# --- the network ---------------------------------------------------------------------------

def predict(checkpoint, x, t, what="y"):
    """One `wsdiff predict --ema` call on states x [N, C, H, W] at times t [N]: the network's raw
    output ("y"), its E[x_0 | x_t] ("x0") or whitened score ("score")."""
    with tempfile.TemporaryDirectory() as work:
        inputs, outputs = Path(work) / "in.h5", Path(work) / "out.h5"
        with h5py.File(inputs, "w") as f:
            f["x"] = np.asarray(x, np.float32)
            f["t"] = np.asarray(t, np.float64)
        wsdiff("predict", "--checkpoint", checkpoint, "--input", inputs, "--out", outputs,
               "--ema")
        with h5py.File(outputs, "r") as f:
            return np.asarray(f[what], np.float64)


def x0_estimate(checkpoint, x, t):
    """The prior's E[x_0 | x_t] for states x [N, C, H, W] at times t [N] (EMA weights), as
    wsdiff computes it for the checkpoint's parameterisation and process."""
    return predict(checkpoint, x, t, "x0")

"""wsdiff from Python: Whitened Score diffusion priors for imaging inverse problems.

The package binds the C++ library the ``wsdiff`` command runs (no second implementation):
the same checkpoints, configs, noise families, operators, samplers and likelihood steps, with
the same seeds and so the same numbers. Images are torch tensors [N, C, H, W] in [-1, 1];
noise levels are in those units. Settings are the config keys of the YAML files and of the
CLI's ``--set`` (docs/usage.md), given as dicts; a bad one raises ValueError with the CLI's
message. See docs/python.md.
"""

import json

import torch  # loads libtorch before the extension module needs it

from . import _wsdiff
from ._config import as_dict, overrides, resolve
from ._wsdiff import DivergenceError, psnr, ssim

__version__ = _wsdiff.__version__

__all__ = [
    "Config", "DivergenceError", "data_statistics", "Measurements", "Noise", "Operator", "Prior", "load_config",
    "load_measurements", "load_prior", "make_operator", "measure", "measurements",
    "operator_registry", "psnr", "python_operator", "reconstruct", "sample", "set_log_level",
    "simulate", "solve", "ssim",
]

Config = _wsdiff.Config


def set_log_level(level):
    """The library's log on stderr: "trace", "debug", "info", "warn" (the default) or "error"."""
    _wsdiff.set_log_level(level)


set_log_level("warn")


def load_config(config=None, set=None):
    """A validated config: a YAML path, a dict of sections or None (the defaults), with ``set``
    (``{"sampler.steps": 50}``) applied like the CLI's ``--set``."""
    return resolve(config, overrides("", set))


class Noise:
    """A structured Gaussian noise family n = K e (the ``noise`` section's keys)."""

    def __init__(self, settings=None, _native=None):
        if _native is None:
            _native = _wsdiff.StructuredNoise(resolve(None, overrides("noise", settings or {})))
        self._native = _native

    @property
    def family(self):
        return self._native.family

    @property
    def settings(self):
        """The family's ``noise`` section as a dict."""
        return json.loads(self._native.to_json())

    def sample(self, shape, seeds=None, n=None, seed=0, device="cpu"):
        """Noise [N, C, H, W] of per-image shape ``shape`` [C, H, W]: image i drawn from
        ``seeds[i]`` (or seed + i for ``n`` images), as the CLI draws it."""
        if seeds is None:
            if n is None:
                raise ValueError("sample: give seeds or n")
            seeds = [seed + i for i in range(n)]
        return self._native.sample(list(seeds), list(shape), device)

    def psd(self, height, width):
        """E|rfft2_ortho(n)|^2 per frequency, float64 [H, W/2+1] (its full-grid mean is the pixel
        variance)."""
        return self._native.psd(height, width)

    def __repr__(self):
        return f"Noise({self.settings})"


class Prior:
    """A prior checkpoint (.h5 as shipped in models/, or written by ``wsdiff train``/``export``)
    or a ``.safetensors`` prior from ``wsdiff export --format safetensors``, loaded once on
    ``device``."""

    def __init__(self, path, device="cpu", use_ema=True):
        self._native = _wsdiff.Prior(str(path), device, use_ema)

    def whitened_score(self, x_t, t):
        """s_W(x_t, t) = G G^T grad log p_t(x_t); ``t`` a number or a tensor [N]."""
        return self._native.whitened_score(x_t, t)

    def x0_estimate(self, x_t, t):
        """The Tweedie estimate E[x_0 | x_t]."""
        return self._native.x0_estimate(x_t, t)

    def alpha(self, t):
        return self._native.alpha(t)

    def sigma(self, t):
        return self._native.sigma(t)

    def beta(self, t):
        """beta(t) of the schedule: G = sqrt(beta) K, so s_W = beta K K^T grad log p_t."""
        return self._native.beta(t)

    @property
    def t_eps(self):
        return self._native.t_eps

    @property
    def noise(self):
        """The structured noise the prior was trained with (its K)."""
        return Noise(_native=self._native.noise)

    @property
    def image_shape(self):
        return tuple(self._native.image_shape)

    @property
    def device(self):
        return self._native.device

    @property
    def path(self):
        return self._native.path

    @property
    def config(self):
        """The embedded training config (a wsdiff Config); its sampler section is the prior's
        default sampler."""
        return self._native.config

    @property
    def card(self):
        """The model card's metadata: format, version, parameterisation, training state and the
        provenance ``wsdiff export`` recorded (None for a training checkpoint)."""
        card = json.loads(self._native.card_json)
        card["description"] = self._native.description
        card["schedule"] = self._native.schedule
        card["image_shape"] = list(self.image_shape)
        card["noise"] = self.noise.settings
        card["default_sampler"] = as_dict(self.config)["sampler"]
        return card

    def __repr__(self):
        return f"Prior('{self.path}', {self._native.description})"


def load_prior(path, device="cpu", use_ema=True):
    """A prior from a checkpoint; ``device`` as the CLI's --device ("cpu", "cuda", "auto")."""
    return Prior(path, device, use_ema)


Operator = _wsdiff.LinearOperator


def make_operator(task, input_shape):
    """A built-in forward operator from ``task`` keys (``{"operator": "gaussian_blur",
    "blur_sigma": 2}``) for images of ``input_shape`` [C, H, W]. It has forward(x), adjoint(y),
    transfer_function() (None unless Fourier-diagonal), input_shape, output_shape."""
    return _wsdiff.make_operator(resolve(None, overrides("task", task)), list(input_shape))


def python_operator(op, input_shape, output_shape=None, name=None):
    """Wraps an object with forward(x) and adjoint(y) on tensors as a wsdiff operator.
    ``output_shape`` is found by applying ``op.forward`` to one zero image when not given."""
    if isinstance(op, _wsdiff.LinearOperator):
        return op
    input_shape = list(input_shape)
    if output_shape is None:
        with torch.no_grad():
            probe = op.forward(torch.zeros([1] + input_shape, dtype=torch.float64))
        if not torch.is_tensor(probe):
            raise ValueError(f"operator forward() returned {type(probe).__name__}, not a tensor")
        output_shape = list(probe.shape[1:])
    return _wsdiff.python_operator(op, input_shape, list(output_shape),
                                   name or type(op).__name__)


def operator_registry():
    """Every built-in operator variant the test suite runs the operator contract over:
    (name, task settings, shapes it is tested on, whether it is defined by a file)."""
    return [(name, json.loads(task), shapes, from_file)
            for name, task, shapes, from_file in _wsdiff.operator_registry()]


class Measurements:
    """Measurements y = A x + b with the task (operator and noise) that declares them: what
    ``wsdiff simulate`` or ``wsdiff pack`` writes and ``wsdiff solve`` reads."""

    def __init__(self, native):
        self._native = native

    y = property(lambda self: self._native.y)
    x_true = property(lambda self: self._native.x_true)
    seeds = property(lambda self: list(self._native.seeds))
    config = property(lambda self: self._native.config)
    image_shape = property(lambda self: tuple(self._native.image_shape))

    @property
    def task(self):
        return as_dict(self._native.config)["task"]

    def __len__(self):
        return len(self._native)

    def save(self, path):
        """Writes the measurement file ``wsdiff solve --measurements`` reads."""
        self._native.write(str(path))

    def __repr__(self):
        task = self.task
        return (f"Measurements({len(self)} x {list(self.y.shape[1:])}, operator "
                f"{task['operator']}, noise {task['noise']['family']} at {task['noise_level']}, "
                f"truth {'given' if self.x_true is not None else 'unknown'})")


def measurements(y, task=None, config=None, x_true=None, seeds=None):
    """Your own measurements: y [N, C', H', W'] in the units of images in [-1, 1] and the task
    that made them (``task.operator``, ``task.noise``, ``task.noise_level``). ``config`` is the
    base (e.g. ``prior.config``, whose data section gives the statistics the proximal step
    uses); ``x_true`` enables PSNR."""
    resolved = resolve(config, overrides("task", task))
    return Measurements(_wsdiff.make_measurements(resolved, y, x_true, seeds))


def load_measurements(path):
    return Measurements(_wsdiff.read_measurements(str(path)))


def simulate(config=None, n=None, validation=False, device="cpu", set=None):
    """Measurements of test images (or of the validation split) for a task config, as
    ``wsdiff simulate``; ``n`` defaults to task.n_images."""
    resolved = resolve(config, overrides("", set))
    if n is None:
        n = as_dict(resolved)["task"]["n_images"]
    return Measurements(_wsdiff.simulate(resolved, n, validation, device))


def measure(operator, x, task=None, seeds=None):
    """y = A x + b for your own images x [N, C, H, W], b the task's noise (``task.noise``,
    ``noise_level``) drawn per image from ``seeds`` (default: the measurement seeds of
    ``task.seed``, as ``wsdiff simulate`` draws them)."""
    resolved = resolve(None, overrides("task", task))
    op = python_operator(operator, x.shape[1:])
    if seeds is None:
        seeds = _wsdiff.measurement_seeds(as_dict(resolved)["task"]["seed"], 0, x.shape[0])
    return _wsdiff.measure(op, x, resolved, list(seeds))


def sample(prior, n, seed=None, sampler=None, progress=None):
    """Unconditional samples [n, C, H, W] (float32, CPU), image i from seed + i, with the
    prior's default sampler edited by ``sampler`` keys. ``progress(batch, batches, step,
    steps)`` is called after every step."""
    config = _wsdiff.layer_config(prior.config, prior.path + " (embedded config)", "",
                                  overrides("sampler", sampler))
    if seed is None:
        seed = as_dict(config)["sampler"]["seed"]
    return _wsdiff.sample(prior._native, config, n, seed, progress)


def data_statistics(config):
    """The Gaussian statistics of a config's training data (``data`` section) that the proximal
    step and the classical baselines use: (mean [C, H, W], power spectrum [C or 1, H, W/2+1]
    float64, image count)."""
    return _wsdiff.data_statistics(resolve(config))


class Reconstruction(dict):
    """x_hat [N, C, H, W] (float32, CPU), the data weight used, wall time, and per-image PSNR /
    SSIM when the measurements carry their truth. Keys are also attributes."""

    __getattr__ = dict.__getitem__

    def __repr__(self):
        quality = (f", PSNR {float(self['psnr'].mean()):.2f} dB" if "psnr" in self else "")
        return (f"Reconstruction({self['method']}, x_hat {list(self['x_hat'].shape)}, lambda "
                f"{self['lambda']}, {self['steps']} steps, {self['seconds']:.2f} s{quality})")


def _reconstruction(result, truth):
    if truth is not None:
        result["psnr"] = psnr(result["x_hat"], truth)
        result["ssim"] = ssim(result["x_hat"], truth)
    return Reconstruction(result)


def solve(prior, measurements, sampler=None, operator=None, progress=None, config=None):
    """Posterior sampling of ``measurements`` with ``prior``, as ``wsdiff solve``: the sampler
    and likelihood step of the measurements' config (``sampler`` keys edit it; ``config`` is a
    YAML file whose sampler section replaces it, like --config). ``operator`` replaces the
    task's operator: a wsdiff operator or any object with forward(x) / adjoint(y) (solved by
    conjugate gradients in the proximal step). ``progress(done, total)`` after every batch."""
    stored = measurements.config
    config = _wsdiff.layer_config(stored, "measurements (config)", "" if config is None
                                  else str(config), overrides("sampler", sampler))
    op = None
    if operator is not None:
        op = python_operator(operator, prior.image_shape)
        if tuple(op.input_shape) != prior.image_shape:
            raise ValueError(f"operator input shape {list(op.input_shape)} is not the prior's "
                             f"image shape {list(prior.image_shape)}")
    result = _wsdiff.solve(prior._native, measurements._native, config, op, progress)
    return _reconstruction(result, measurements.x_true)


def reconstruct(method, measurements, config=None, sampler=None, operator=None, device="cpu",
                progress=None):
    """One of ``wsdiff eval``'s methods on ``measurements``: "wiener", "tikhonov",
    "gaussian_prior", or "ws_prior" / "conventional_prior" with the checkpoints
    ``eval.checkpoint`` / ``eval.conventional_checkpoint`` of ``config`` (a dict of settings).
    ``operator`` replaces the task's operator for "tikhonov" (conjugate gradients) and
    "wiener" (which needs a transfer function)."""
    stored = measurements.config
    layered = _wsdiff.layer_config(stored, "measurements (config)", "",
                                   overrides("", config) + overrides("sampler", sampler))
    op = None if operator is None else python_operator(operator, measurements.image_shape)
    result = _wsdiff.reconstruct(method, measurements._native, layered, device, op, progress)
    return _reconstruction(result, measurements.x_true)

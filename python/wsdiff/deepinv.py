"""deepinv interop, both ways.

- ``physics_operator(physics, shape)``: a deepinv ``LinearPhysics`` (``A``, ``A_adjoint``) as a
  wsdiff operator, usable by every likelihood step (the proximal step solves it by conjugate
  gradients, as any operator without a transfer function).
- ``Reconstructor``: wsdiff's posterior sampler as a deepinv reconstructor, ``model(y, physics)``,
  so deepinv's own evaluation (``deepinv.test``) can benchmark it.
- ``Denoiser``: a white-noise (conventional) prior as a deepinv denoiser, ``model(x, sigma)``, for
  deepinv's plug-and-play and diffusion algorithms.

Units: deepinv images are in [0, 1], wsdiff's in [-1, 1] (x_ws = 2 x - 1). For a linear A,
y = A x + n becomes y_ws = A x_ws + 2 n = 2 y - A(1): the adapters convert, and noise levels
given in deepinv's units are doubled.
"""

import torch

try:
    import deepinv as dinv
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("wsdiff.deepinv needs deepinv: pip install deepinv") from error

import wsdiff


def _dtype_of(module, default=torch.float32):
    for tensor in list(module.buffers()) + list(module.parameters()):
        if tensor.is_floating_point():
            return tensor.dtype
    return default


class _PhysicsAsOperator:
    """forward/adjoint of a deepinv LinearPhysics, computed in the physics' own dtype (its filters
    are float32; wsdiff's conjugate gradients run in float64)."""

    def __init__(self, physics):
        self.physics = physics
        self.dtype = _dtype_of(physics)

    def forward(self, x):
        return self.physics.A(x.to(self.dtype))

    def adjoint(self, y):
        return self.physics.A_adjoint(y.to(self.dtype))


def physics_operator(physics, input_shape):
    """A deepinv LinearPhysics as a wsdiff operator for images of ``input_shape`` [C, H, W]."""
    if not isinstance(physics, dinv.physics.LinearPhysics):
        raise ValueError(f"{type(physics).__name__} is not a deepinv LinearPhysics: wsdiff's "
                         "likelihood steps need A and its adjoint")
    return wsdiff.python_operator(_PhysicsAsOperator(physics), input_shape,
                                  name=f"deepinv.{type(physics).__name__}")


def _noise_std(physics):
    model = getattr(physics, "noise_model", None)
    sigma = getattr(model, "sigma", None)
    if sigma is None:
        raise ValueError("the physics has no Gaussian noise model: give noise_level (the noise "
                         "std in deepinv's [0, 1] units)")
    sigma = torch.as_tensor(sigma)
    if sigma.numel() != 1:
        raise ValueError("per-image noise levels are not supported: give noise_level")
    return float(sigma)


class Reconstructor(dinv.models.Reconstructor):
    """wsdiff's posterior sampler as a deepinv reconstructor.

    ``noise`` is the measurement noise's family (the ``task.noise`` keys, white by default) and
    ``noise_level`` its std in deepinv's [0, 1] units (by default the physics' Gaussian noise
    model's sigma). ``sampler`` edits the prior's default sampler (e.g. ``{"likelihood":
    "proximal", "lambda": 1}``). The last solve's details (data weight, wall time) are kept in
    ``last``. The output is clamped to [0, 1] (``clamp=False`` keeps it as solved), as wsdiff's
    own metrics clamp, so that deepinv's metrics report wsdiff's numbers.
    """

    def __init__(self, prior, sampler=None, noise=None, noise_level=None, seed=0, clamp=True,
                 device="cpu"):
        super().__init__(device=device)
        self.clamp = clamp
        self.prior = prior
        self.sampler = dict(sampler or {})
        self.noise = dict(noise or {"family": "white"})
        self.noise_level = noise_level
        self.seed = seed
        self.last = None

    def forward(self, y, physics, **kwargs):
        shape = self.prior.image_shape
        level = self.noise_level if self.noise_level is not None else _noise_std(physics)
        with torch.no_grad():
            offset = physics.A(torch.ones((1,) + tuple(shape), dtype=y.dtype, device=y.device))
        y_ws = (2 * y - offset).detach().cpu()
        task = {"noise": self.noise, "noise_level": 2.0 * level}
        measurements = wsdiff.measurements(y_ws, task=task, config=self.prior.config)
        result = wsdiff.solve(self.prior, measurements, sampler={"seed": self.seed,
                                                                  **self.sampler},
                              operator=physics_operator(physics, shape))
        self.last = result
        x_hat = (result.x_hat + 1) / 2
        return (x_hat.clamp(0, 1) if self.clamp else x_hat).to(y.device, y.dtype)


class Denoiser(dinv.models.Denoiser):
    """A prior trained with white noise (the conventional prior) as a deepinv denoiser: x = x0 +
    sigma n in [0, 1] units is the prior's x_t / alpha_t at the time t where sigma_t / alpha_t =
    2 sigma, and the denoised image is the Tweedie estimate E[x0 | x_t]."""

    def __init__(self, prior, device="cpu"):
        super().__init__(device=device)
        if prior.noise.family != "white":
            raise ValueError(f"{prior.path}: a denoiser for white noise needs a prior trained with "
                             f"white noise (this one's noise family is {prior.noise.family})")
        self.prior = prior

    def time_for(self, sigma_ws):
        """The time t in [t_eps, 1] at which the prior's noise-to-signal ratio is ``sigma_ws``
        (wsdiff units), by bisection: sigma_t / alpha_t increases with t."""
        ratio = lambda t: self.prior.sigma(t) / self.prior.alpha(t)
        lo, hi = self.prior.t_eps, 1.0
        if sigma_ws <= ratio(lo):
            return lo
        if sigma_ws >= ratio(hi):
            return hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ratio(mid) < sigma_ws else (lo, mid)
        return 0.5 * (lo + hi)

    def forward(self, x, sigma, **kwargs):
        sigma = torch.as_tensor(sigma, dtype=torch.float64).flatten().cpu()
        if sigma.numel() == 1:
            sigma = sigma.expand(x.shape[0])
        times = torch.tensor([self.time_for(2.0 * float(s)) for s in sigma], dtype=torch.float64)
        alphas = torch.tensor([self.prior.alpha(float(t)) for t in times], dtype=x.dtype)
        x_t = alphas.view(-1, 1, 1, 1).to(x.device) * (2 * x - 1)
        x0 = self.prior.x0_estimate(x_t.to(self.prior.device), times)
        return ((x0 + 1) / 2).to(x.device, x.dtype)

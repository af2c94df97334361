"""deepinv both ways, against deepinv from PyPI: a deepinv Blur as wsdiff's operator with the
shipped WS prior benchmarked by deepinv's own test loop, and the conventional prior as a deepinv
denoiser."""

import h5py
import pytest
import torch

dinv = pytest.importorskip("deepinv")

import wsdiff  # noqa: E402
import wsdiff.deepinv as wsdinv  # noqa: E402
from conftest import run_cli  # noqa: E402

DEBLUR = "experiments/deblur_dehaze.yaml"


def _deepinv_blur_of(op, shape, radius):
    """The deepinv Blur with the kernel of a circular wsdiff blur (its response to a centred
    impulse)."""
    impulse = torch.zeros((1,) + tuple(shape), dtype=torch.float64)
    cy, cx = shape[1] // 2, shape[2] // 2
    impulse[..., cy, cx] = 1
    response = op.forward(impulse)
    kernel = response[..., cy - radius:cy + radius + 1, cx - radius:cx + radius + 1]
    return dinv.physics.Blur(filter=kernel.float(), padding="circular")


def test_a_deepinv_blur_solves_to_the_clis_psnr(ws_prior, tmp_path):
    n = 4
    run_cli("simulate", "-c", DEBLUR, "-n", n, "-o", tmp_path / "m.h5")
    run_cli("solve", "--checkpoint", "models/fashion_mnist_ws.h5", "--measurements",
            tmp_path / "m.h5", "-o", tmp_path / "x.h5", "--set", "sampler.batch_size=4")
    with h5py.File(tmp_path / "x.h5") as f:
        cli_psnr = torch.from_numpy(f["/psnr"][...]).double()

    m = wsdiff.load_measurements(tmp_path / "m.h5")
    task, sampler = m.task, wsdiff.as_dict(m.config)["sampler"]
    physics = _deepinv_blur_of(wsdiff.make_operator(task, m.image_shape), m.image_shape, 6)
    x = (m.x_true + 1) / 2
    # The same operator: deepinv's circular convolution equals wsdiff's blur.
    assert (physics.A(x) - wsdiff.make_operator(task, m.image_shape).forward(m.x_true.double())
            .float() / 2 - physics.A(torch.ones_like(x)) / 2).abs().max() < 1e-5
    y = (m.y + physics.A(torch.ones_like(x))) / 2  # the measurements in deepinv's units

    model = wsdinv.Reconstructor(
        ws_prior, noise=task["noise"], noise_level=task["noise_level"] / 2,
        sampler={k: sampler[k] for k in ("method", "likelihood", "steps", "lambda", "seed")})
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=n)
    results = dinv.test(model, loader, physics, metrics=dinv.metric.PSNR(), device="cpu",
                        verbose=False, show_progress_bar=False, compare_no_learning=False)
    psnr = results["PSNR"]
    ours = wsdiff.psnr(model.last.x_hat, m.x_true).double()
    # deepinv's operator has no transfer function, so the proximal step solves it by conjugate
    # gradients (to a relative residual of 1e-4) where the CLI's Fourier-diagonal blur is exact.
    assert (ours - cli_psnr).abs().max() < 0.05
    assert abs(psnr - float(cli_psnr.mean())) < 0.05
    assert float(cli_psnr.mean()) > float(wsdiff.psnr(m.y, m.x_true).mean()) + 3


def test_a_physics_without_an_adjoint_is_refused(ws_prior):
    with pytest.raises(ValueError, match="not a deepinv LinearPhysics"):
        wsdinv.physics_operator(dinv.physics.Physics(A=lambda x: x), ws_prior.image_shape)


def test_the_conventional_prior_denoises_for_deepinv(conventional_prior, tmp_path):
    m = wsdiff.simulate(DEBLUR, n=8)
    clean = (m.x_true + 1) / 2
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    denoiser = wsdinv.Denoiser(conventional_prior)
    t = denoiser.time_for(0.2)
    assert abs(conventional_prior.sigma(t) / conventional_prior.alpha(t) - 0.2) < 1e-9
    denoised = denoiser(noisy, 0.1)
    metric = dinv.metric.PSNR()
    before, after = float(metric(noisy, clean).mean()), float(metric(denoised, clean).mean())
    assert after > before + 6, (before, after)


def test_a_structured_noise_prior_is_no_white_noise_denoiser(ws_prior):
    with pytest.raises(ValueError, match="white noise"):
        wsdinv.Denoiser(ws_prior)


def test_deepinv_diffpir_runs_on_the_conventional_prior(conventional_prior):
    # deepinv's own diffusion solver, with wsdiff's prior as its denoiser, deblurs.
    m = wsdiff.simulate("experiments/deblur_white.yaml", n=4)
    x = (m.x_true + 1) / 2
    g = torch.exp(-torch.arange(-5, 6.0) ** 2 / (2 * 1.5**2))
    kernel = (g[:, None] * g[None, :] / (g.sum() ** 2)).view(1, 1, 11, 11)
    noise = dinv.physics.GaussianNoise(sigma=0.025, rng=torch.Generator().manual_seed(0))
    physics = dinv.physics.Blur(filter=kernel, padding="circular", noise_model=noise)
    y = physics(x)
    torch.manual_seed(0)
    model = dinv.sampling.DiffPIR(wsdinv.Denoiser(conventional_prior),
                                  dinv.optim.data_fidelity.L2(), sigma=0.025, max_iter=100)
    metric = dinv.metric.PSNR()
    before = float(metric(y.clamp(0, 1), x).mean())
    after = float(metric(model(y, physics).clamp(0, 1), x).mean())
    assert after > before + 3, (before, after)

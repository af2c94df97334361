"""A shipped prior from Python: its card, its score and Tweedie estimate against the closed form
that ties them, and its structured noise against its own spectrum."""

import math

import pytest
import torch

import wsdiff


def test_card_says_what_the_prior_is(ws_prior):
    card = ws_prior.card
    assert card["type"] == "ddpm_unet"
    assert card["image_shape"] == [1, 32, 32]
    assert card["checksums_verified"] is True
    assert card["parameters"] > 1_000_000
    # What `wsdiff export` recorded, and the default sampler the card documents.
    assert card["provenance"]["weights"] == "ema"
    assert card["provenance"]["step"] == card["train_step"]
    assert card["default_sampler"]["method"] == "dpm_solver_2m"
    assert card["default_sampler"]["steps"] == 50
    assert card["noise"]["family"] != "white"


def test_tweedie_estimate_is_the_whitened_score_in_closed_form(ws_prior):
    # x_t = alpha x0 + sigma K e and s_W = beta K K^T grad log p_t give
    # E[x0 | x_t] = (x_t + (sigma^2 / beta) s_W) / alpha (docs/maths.md, 'Tweedie estimate').
    gen = torch.Generator().manual_seed(0)
    x_t = torch.randn(3, 1, 32, 32, generator=gen)
    t = torch.tensor([0.1, 0.4, 0.8], dtype=torch.float64)
    s_w = ws_prior.whitened_score(x_t, t)
    x0 = ws_prior.x0_estimate(x_t, t)
    alpha = torch.tensor([ws_prior.alpha(float(v)) for v in t]).view(-1, 1, 1, 1)
    sigma = torch.tensor([ws_prior.sigma(float(v)) for v in t]).view(-1, 1, 1, 1)
    beta = torch.tensor([ws_prior.beta(float(v)) for v in t]).view(-1, 1, 1, 1)
    expected = (x_t.double() + sigma**2 / beta * s_w.double()) / alpha
    assert torch.allclose(x0.double(), expected, rtol=1e-4, atol=1e-4)
    assert abs(ws_prior.alpha(0.3) ** 2 + ws_prior.sigma(0.3) ** 2 - 1) < 1e-12


def test_noise_samples_have_the_families_spectrum(ws_prior):
    noise = ws_prior.noise
    psd = noise.psd(32, 32)
    # unit_variance: the full-grid mean of the spectrum is the pixel variance, 1.
    weights = torch.full((1, 17), 2.0, dtype=torch.float64)
    weights[0, 0] = weights[0, 16] = 1.0
    assert abs(float((psd * weights).sum()) / (32 * 32) - 1.0) < 1e-9
    n = noise.sample((1, 32, 32), n=2000, seed=5).double()
    periodogram = torch.fft.rfft2(n, norm="ortho").abs().square().mean(dim=(0, 1))
    # 2000 draws: each bin's mean has a relative standard error of about 1/sqrt(2000); the
    # parameter distribution of the family adds its own spread, so compare banded averages.
    for lo, hi in [(0, 4), (4, 8), (8, 17)]:
        ratio = periodogram[:, lo:hi].sum() / psd[:, lo:hi].sum()
        assert abs(float(ratio) - 1.0) < 0.05, (lo, hi, float(ratio))


def test_noise_draws_follow_the_seed_of_each_image():
    noise = wsdiff.Noise({"family": "grf", "grf_sigma_min": 1.0, "grf_sigma_max": 3.0})
    together = noise.sample((1, 16, 16), seeds=[7, 8, 9])
    alone = noise.sample((1, 16, 16), seeds=[8])
    assert torch.equal(together[1:2], alone)
    assert not torch.equal(together[0], together[1])


def test_bad_noise_settings_get_the_cli_message():
    with pytest.raises(ValueError, match="noise.family"):
        wsdiff.Noise({"family": "purple"})


def test_a_missing_checkpoint_is_a_value_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match="nope.h5"):
        wsdiff.load_prior(tmp_path / "nope.h5")


def test_a_safetensors_export_loads_as_the_same_prior(ws_prior, tmp_path):
    from conftest import run_cli
    path = tmp_path / "ws.safetensors"
    run_cli("export", "--checkpoint", "models/fashion_mnist_ws.h5", "--out", path, "--format",
            "safetensors")
    # A neutral file: the reference reader sees the authors' tensor names and the card.
    safetensors = pytest.importorskip("safetensors.torch")
    tensors = safetensors.load_file(str(path))
    assert "image_proj.weight" in tensors and "time_emb.lin1.weight" in tensors
    reloaded = wsdiff.load_prior(path)
    assert reloaded.card["format"] == "wsdiff-prior"
    assert reloaded.card["provenance"] == ws_prior.card["provenance"]
    assert reloaded.card["parameters"] == ws_prior.card["parameters"]
    x_t = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    assert torch.equal(reloaded.x0_estimate(x_t, 0.3), ws_prior.x0_estimate(x_t, 0.3))

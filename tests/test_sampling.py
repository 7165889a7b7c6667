"""Langevin dynamics against closed forms: quadratic energies and a linear-Gaussian latent model."""

import math

import pytest
import torch

from gensal.errors import InputError
from gensal.models import create_model
from gensal.sampling import langevin_data, langevin_latent


def quadratic_energy(mu: torch.Tensor, scale: float):
    """U(y) = |y - mu|^2 / (2 scale^2) per row: the negative log density of N(mu, scale^2 I)."""
    return lambda y: ((y - mu) ** 2).flatten(1).sum(1) / (2 * scale**2)


# --- data space ----------------------------------------------------------------------------------------


def test_noise_free_descent_contracts_by_the_closed_form_factor():
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 1, 5, 6, generator=generator, dtype=torch.float64)
    y0 = torch.randn(4, 1, 5, 6, generator=generator, dtype=torch.float64)
    scale, step = 0.7, 0.3
    factor = 1 - step**2 / (2 * scale**2)  # y_{t+1} - mu = factor * (y_t - mu)
    for steps in (1, 7):
        y = langevin_data(quadratic_energy(mu, scale), y0, steps, step, noise=False)
        torch.testing.assert_close(y, mu + factor**steps * (y0 - mu), rtol=1e-12, atol=1e-12)
    y = langevin_data(quadratic_energy(mu, scale), y0, 300, step, noise=False)
    torch.testing.assert_close(y, mu, rtol=0, atol=1e-8)


def test_noisy_chain_reaches_the_stationary_variance_of_the_discretised_chain():
    # y' - mu = a (y - mu) + d xi with a = 1 - d^2/(2 s^2): stationary variance d^2 / (1 - a^2)
    # = s^2 / (1 - d^2/(4 s^2)); here 1.19, clearly apart from the continuous-time value s^2 = 1.
    scale, step, chains = 1.0, 0.8, 40_000
    expected = scale**2 / (1 - step**2 / (4 * scale**2))
    assert expected == pytest.approx(step**2 / (1 - (1 - step**2 / (2 * scale**2)) ** 2))
    mu = torch.full((chains, 1), 0.5, dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    y = langevin_data(quadratic_energy(mu, scale), mu.clone(), 60, step, generator=generator)
    standard_error = expected * math.sqrt(2 / chains)  # of the sample variance, about 0.008
    assert y.var().item() == pytest.approx(expected, abs=4 * standard_error)
    assert y.mean().item() == pytest.approx(0.5, abs=4 * math.sqrt(expected / chains))


def test_clamp_keeps_the_chain_in_range():
    mu = torch.full((3, 1, 4, 4), 2.0)
    y0 = torch.zeros(3, 1, 4, 4)
    generator = torch.Generator().manual_seed(0)
    y = langevin_data(quadratic_energy(mu, 1.0), y0, 20, 0.5, generator=generator, clamp=(0.0, 1.0))
    assert y.min() >= 0 and y.max() <= 1
    assert (y == 1).sum() > 10 and y.mean() > 0.7  # pushed against the upper bound
    generator = torch.Generator().manual_seed(0)
    assert langevin_data(quadratic_energy(mu, 1.0), y0, 20, 0.5, generator=generator).max() > 1


def test_zero_steps_returns_a_detached_copy():
    y0 = torch.rand(2, 3, requires_grad=True)
    y = langevin_data(quadratic_energy(torch.zeros(2, 3), 1.0), y0, 0, 0.1)
    assert torch.equal(y, y0) and not y.requires_grad and y.data_ptr() != y0.data_ptr()


# --- latent space: G(h) = A h, a Gaussian posterior in closed form --------------------------------------


def linear_gaussian(seed: int = 0, outputs: int = 6, latent: int = 3, sigma: float = 0.5):
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(outputs, latent, generator=generator, dtype=torch.float64)
    target = torch.randn(2, outputs, generator=generator, dtype=torch.float64)
    precision = matrix.T @ matrix / sigma**2 + torch.eye(latent, dtype=torch.float64)
    mode = torch.linalg.solve(precision, matrix.T @ target.T / sigma**2).T  # (2, latent)
    return matrix, target, precision, mode


def test_noise_free_latent_langevin_converges_to_the_posterior_mode():
    sigma = 0.5
    matrix, target, precision, mode = linear_gaussian(sigma=sigma)
    step = 1.0 / torch.linalg.eigvalsh(precision).max().sqrt().item()  # s^2/2 * lambda_max = 1/2: contracts
    h = langevin_latent(lambda h: h @ matrix.T, target, torch.zeros_like(mode), 2000, step, sigma, noise=False)
    torch.testing.assert_close(h, mode, rtol=0, atol=1e-9)


def test_noisy_latent_langevin_matches_the_discretised_posterior_covariance():
    # A = Q diag(c) R (orthonormal Q, rotation R): posterior precision P with eigenvalues c^2/sigma^2 + 1
    # and off-diagonal terms; the step puts s^2 lambda / 4 between 0.17 and 0.3, so the discretised
    # chain's covariance differs from the exact posterior covariance P^-1 by 17-43 %.
    sigma, chains = 0.5, 20_000
    generator = torch.Generator().manual_seed(3)
    q, _ = torch.linalg.qr(torch.randn(6, 3, generator=generator, dtype=torch.float64))
    r, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    matrix = q @ torch.diag(torch.tensor([1.0, 1.2, 1.4], dtype=torch.float64)) @ r
    target = torch.randn(1, 6, generator=generator, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64)
    precision = matrix.T @ matrix / sigma**2 + eye
    mode = torch.linalg.solve(precision, matrix.T @ target.T / sigma**2).T
    step = math.sqrt(1.2 / torch.linalg.eigvalsh(precision).max().item())
    # h' - m = M (h - m) + s xi, M = I - (s^2/2) P  =>  C = s^2 (I - M^2)^-1 = (P (I - s^2 P / 4))^-1.
    transition = eye - step**2 / 2 * precision
    covariance = step**2 * torch.linalg.inv(eye - transition @ transition)
    torch.testing.assert_close(covariance, torch.linalg.inv(precision @ (eye - step**2 / 4 * precision)))
    tolerance = 5 * covariance.diagonal().max().item() * math.sqrt(2 / chains)
    assert (covariance - torch.linalg.inv(precision)).abs().max() > 2 * tolerance  # the test can tell them apart
    h = langevin_latent(
        lambda h: h @ matrix.T,
        target.expand(chains, -1),
        mode.expand(chains, -1).clone(),
        60,
        step,
        sigma,
        generator=torch.Generator().manual_seed(4),
    )
    torch.testing.assert_close(torch.cov(h.T), covariance, rtol=0, atol=tolerance)
    mean_tolerance = 5 * math.sqrt(covariance.diagonal().max().item() / chains)
    torch.testing.assert_close(h.mean(0), mode[0], rtol=0, atol=mean_tolerance)


def test_mask_removes_the_influence_of_hidden_pixels():
    sigma = 0.5
    matrix, target, precision, mode = linear_gaussian(sigma=sigma)
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    h0 = torch.randn(2, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)

    def run(decode, y, mask=None, seed=7):
        generator = torch.Generator().manual_seed(seed)
        return langevin_latent(decode, y, h0, 10, 0.2, sigma, mask=mask, generator=generator)

    masked = run(lambda h: h @ matrix.T, target, mask)
    visible_only = run(lambda h: h @ matrix[:3].T, target[:, :3])
    torch.testing.assert_close(masked, visible_only, rtol=1e-12, atol=1e-12)
    changed = target.clone()
    changed[:, 3:] += 100.0
    torch.testing.assert_close(run(lambda h: h @ matrix.T, changed, mask), masked, rtol=0, atol=0)
    assert not torch.allclose(run(lambda h: h @ matrix.T, changed), masked)


def test_mean_reduction_equals_a_larger_sigma():
    matrix, target, _, mode = linear_gaussian()
    decode = lambda h: h @ matrix.T  # noqa: E731
    h0 = torch.zeros_like(mode)
    mean = langevin_latent(decode, target, h0, 5, 0.3, 0.5, noise=False, reduction="mean")
    scaled = langevin_latent(decode, target, h0, 5, 0.3, 0.5 * math.sqrt(6), noise=False)
    torch.testing.assert_close(mean, scaled, rtol=1e-12, atol=1e-12)


# --- real models ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    lvm = create_model("lvm", backbone="efficientnet_lite0", pretrained=False)
    ebm = create_model("ebm")
    return lvm, ebm


@pytest.mark.parametrize("context", ["grad", "no_grad"])
def test_sampling_real_models_leaves_parameter_grads_untouched(models, context):
    lvm, ebm = models
    image = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad() if context == "no_grad" else torch.enable_grad():
        features = lvm.encode(image)
        h0 = lvm.sample_latent(2, generator=torch.Generator().manual_seed(1))
        y0 = torch.sigmoid(lvm.decode(features, h0))
        y = langevin_data(lambda y: ebm(y, image), y0, 2, 0.4, generator=torch.Generator().manual_seed(2))
        h = langevin_latent(
            lambda h: torch.sigmoid(lvm.decode(features, h)), y, h0, 2, 0.1, 0.3, reduction="mean",
            generator=torch.Generator().manual_seed(3),
        )  # fmt: skip
    assert y.shape == y0.shape and h.shape == h0.shape
    assert not y.requires_grad and not h.requires_grad
    assert not torch.equal(y, y0) and not torch.equal(h, h0)
    for model in (lvm, ebm):
        assert all(p.grad is None for p in model.parameters())


def test_seeded_generator_makes_chains_reproducible():
    mu = torch.zeros(3, 4)
    y0 = torch.ones(3, 4)

    def run(seed: int) -> torch.Tensor:
        return langevin_data(quadratic_energy(mu, 1.0), y0, 5, 0.4, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    matrix, target, _, mode = linear_gaussian()

    def run_latent(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return langevin_latent(lambda h: h @ matrix.T, target, torch.zeros_like(mode), 5, 0.1, 0.5, generator=generator)

    assert torch.equal(run_latent(0), run_latent(0))
    assert not torch.equal(run_latent(0), run_latent(1))


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": -1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"step_size": 0.0}, "step_size"),
        ({"clamp": (1.0, 0.0)}, "clamp"),
        ({"energy": lambda y: y.sum(1, keepdim=True)}, "one value per row"),
        ({"energy": lambda y: torch.zeros(y.shape[0], requires_grad=True)}, "does not depend"),
        ({"energy": lambda y: y.detach().sum(1)}, "differentiabl"),
        ({"y0": torch.ones(2, 3, dtype=torch.long)}, "floating-point"),
    ],
)
def test_langevin_data_rejects_bad_arguments(kwargs, message):
    arguments = {"energy": lambda y: (y**2).sum(1), "y0": torch.ones(2, 3), "steps": 2, "step_size": 0.1}
    arguments.update(kwargs)
    with pytest.raises(InputError, match=message):
        langevin_data(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": 0.0}, "sigma"),
        ({"reduction": "max"}, "reduction"),
        ({"decode": lambda h: h}, "shape of target"),
        ({"mask": torch.ones(3, 6)}, "broadcast"),
        ({"step_size": -1.0}, "step_size"),
    ],
)
def test_langevin_latent_rejects_bad_arguments(kwargs, message):
    matrix = torch.ones(6, 3)
    arguments = {
        "decode": lambda h: h @ matrix.T,
        "target": torch.zeros(2, 6),
        "h0": torch.zeros(2, 3),
        "steps": 2,
        "step_size": 0.1,
        "sigma": 0.3,
    }
    arguments.update(kwargs)
    with pytest.raises(InputError, match=message):
        langevin_latent(**arguments)

"""VAdam (Khan et al. 2018 Fig. 1; emtiyaz/vadam's ``Vadam``; BaLeNAS Eq. 13-18) against
hand-computed steps and a numpy re-implementation, with fixed noise."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness import UserError
from plugins.balenas.vadam import VAdam


def quadratic_grad(alpha: np.ndarray, curvature: np.ndarray, target: np.ndarray) -> np.ndarray:
    """∇ of ½ Σ a (α − c)², the known-answer loss."""
    return curvature * (alpha - target)


def numpy_vadam(mu, noise_per_step, curvature, target, lr, betas, delta, n, init_precision,
                second_moment="mean_of_squares"):
    """The reference: VAdam written out in numpy, step by step, as emtiyaz/vadam's optimizer runs it
    (per-draw gradients g_m; first moment from their mean, second from mean g_m² or (mean g_m)²)."""
    b1, b2 = betas
    delta_tilde = delta / n
    m = np.zeros_like(mu)
    s = np.full_like(mu, (init_precision - delta) / n)
    sigmas = []
    for t, noise in enumerate(noise_per_step, start=1):
        sigma = 1.0 / np.sqrt(n * s + delta)
        sigmas.append(sigma)
        alphas = mu[None] + sigma[None] * noise
        per_draw = np.stack([quadratic_grad(a, curvature, target) for a in alphas])
        g = per_draw.mean(axis=0)
        h = (per_draw ** 2).mean(axis=0) if second_moment == "mean_of_squares" else g * g
        m = b1 * m + (1 - b1) * (g + delta_tilde * mu)
        s = b2 * s + (1 - b2) * h
        m_hat, s_hat = m / (1 - b1 ** t), s / (1 - b2 ** t)
        mu = mu - lr * m_hat / (np.sqrt(s_hat) + delta_tilde)
    return mu, s, sigmas


def drive(optimizer: VAdam, noise_per_step, curvature, target):
    """The caller's loop: perturb with the given noise, take each draw's gradient, step."""
    sigmas = []
    for noise in noise_per_step:
        sigmas.append(optimizer.sigma()[0].numpy().copy())
        alphas = optimizer.perturb([torch.from_numpy(noise)])[0].numpy()
        per_draw = np.stack([quadratic_grad(a, curvature, target) for a in alphas])
        optimizer.step([torch.from_numpy(per_draw)])
    return sigmas


def test_one_step_by_hand_single_sample():
    # N = 1, δ = 4 (δ̃ = 4), initial precision 9 → s₀ = 5, σ₀ = 1/3.
    mean = torch.tensor([1.0], dtype=torch.float64)
    opt = VAdam([mean], lr=0.7, data_size=1, betas=(0.9, 0.5), prior_precision=4.0, init_precision=9.0, samples=1)
    assert opt.sigma()[0].item() == pytest.approx(1 / 3)
    (alpha,) = opt.perturb([torch.tensor([[3.0]], dtype=torch.float64)])
    assert alpha.item() == pytest.approx(2.0)  # α = μ + σ ε = 1 + 3/3
    # L = α²/2 → ĝ = 2; m̂ = ĝ + δ̃μ = 6; ŝ = (0.5·5 + 0.5·4)/0.5 = 9; μ ← 1 − 0.7·6/(3 + 4) = 0.4
    opt.step([alpha])
    assert mean.item() == pytest.approx(0.4)
    assert opt.exp_avg_sq[0].item() == pytest.approx(4.5)
    assert opt.sigma()[0].item() == pytest.approx(1 / np.sqrt(4.5 + 4.0))


def three_draw_step(second_moment=None):
    """μ = 1, N = 1, δ = 4, λ₀ = 9 (s₀ = 5, σ₀ = 1/3), betas (0.9, 0.5), lr 0.7; L = α²/2 at the
    draws α = 1 + (6, 0, 3)/3 = (3, 1, 2), so the per-draw gradients are g = (3, 1, 2)."""
    mean = torch.tensor([1.0], dtype=torch.float64)
    chosen = {} if second_moment is None else {"second_moment": second_moment}
    opt = VAdam([mean], lr=0.7, data_size=1, betas=(0.9, 0.5), prior_precision=4.0, init_precision=9.0, samples=3,
                **chosen)
    noise = opt.draw_noise(torch.Generator().manual_seed(0))
    assert noise[0].shape == (3, 1)
    alphas = opt.perturb([torch.tensor([[6.0], [0.0], [3.0]], dtype=torch.float64)])[0]
    torch.testing.assert_close(alphas, torch.tensor([[3.0], [1.0], [2.0]], dtype=torch.float64))
    opt.step([alphas])
    return mean, opt


def test_three_draws_by_hand_use_the_mean_of_the_squared_gradients_by_default():
    mean, opt = three_draw_step()
    # ĝ = (3+1+2)/3 = 2 → m = 0.1·(2 + 4·1) = 0.6, m̂ = 6.
    # h = (9+1+4)/3 = 14/3 → s = 0.5·5 + 0.5·14/3 = 29/6, ŝ = 29/3.
    # μ ← 1 − 0.7·6/(√(29/3) + 4);  σ = 1/√(N s + δ) = 1/√(29/6 + 4) = √(6/53).
    assert opt.exp_avg_sq[0].item() == pytest.approx(29 / 6)
    assert mean.item() == pytest.approx(1 - 4.2 / (math.sqrt(29 / 3) + 4))
    assert mean.item() == pytest.approx(0.409210, abs=1e-6)
    assert opt.sigma()[0].item() == pytest.approx(math.sqrt(6 / 53))


def test_square_of_mean_option_squares_the_averaged_gradient():
    mean, opt = three_draw_step("square_of_mean")
    # h = ĝ² = 4 → s = 0.5·5 + 0.5·4 = 4.5, ŝ = 9 → μ ← 1 − 0.7·6/(3 + 4) = 0.4 (the one-draw step with g = 2).
    assert opt.exp_avg_sq[0].item() == pytest.approx(4.5)
    assert mean.item() == pytest.approx(0.4)
    assert opt.sigma()[0].item() == pytest.approx(1 / math.sqrt(8.5))


def test_cumulative_draw_gradients_reproduce_the_balenas_closure_by_hand():
    mean = torch.tensor([1.0], dtype=torch.float64)
    opt = VAdam([mean], lr=0.7, data_size=1, betas=(0.9, 0.5), prior_precision=4.0, init_precision=9.0, samples=3,
                draw_gradients="cumulative")
    opt.step([torch.tensor([[3.0], [1.0], [2.0]], dtype=torch.float64)])
    # recorded gradients 3, 3+1, 3+1+2 = (3, 4, 6): ĝ = 13/3, h = (9+16+36)/3 = 61/3.
    # m̂ = 13/3 + 4 = 25/3; s = 0.5·5 + 0.5·61/3 = 38/3, ŝ = 76/3; μ ← 1 − 0.7·(25/3)/(√(76/3) + 4)
    assert opt.exp_avg_sq[0].item() == pytest.approx(38 / 3)
    assert mean.item() == pytest.approx(1 - 0.7 * (25 / 3) / (math.sqrt(76 / 3) + 4))


def test_the_two_forms_agree_when_the_draws_agree():
    """mean g² = (mean g)² when all draws give one gradient: the forms differ only by the spread."""
    results = []
    for form in ("mean_of_squares", "square_of_mean"):
        mean = torch.tensor([0.5, -1.0], dtype=torch.float64)
        opt = VAdam([mean], lr=0.1, data_size=10, prior_precision=1.0, samples=3, second_moment=form)
        opt.step([torch.tensor([[0.2, -0.4]] * 3, dtype=torch.float64)])
        results.append((mean.clone(), opt.exp_avg_sq[0].clone()))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


@pytest.mark.parametrize("second_moment", ["mean_of_squares", "square_of_mean"])
@pytest.mark.parametrize("samples", [1, 3])
def test_several_steps_match_the_numpy_reference(samples, second_moment):
    rng = np.random.default_rng(samples)
    mu0 = np.array([[0.3, -0.2, 0.05], [1.0, 0.0, -0.7]])
    curvature = np.array([[2.0, 0.5, 1.0], [0.1, 3.0, 1.5]])
    target = np.array([[1.0, -1.0, 0.0], [0.5, 0.2, -0.3]])
    noise_per_step = [rng.standard_normal((samples, 2, 3)) for _ in range(8)]
    settings = dict(lr=0.05, betas=(0.5, 0.999), delta=2.0, n=10, init_precision=4.0)

    expected_mu, expected_s, expected_sigmas = numpy_vadam(mu0.copy(), noise_per_step, curvature, target,
                                                           second_moment=second_moment, **settings)

    mean = torch.tensor(mu0)
    opt = VAdam([mean], lr=0.05, data_size=10, betas=(0.5, 0.999), prior_precision=2.0, init_precision=4.0,
                samples=samples, second_moment=second_moment)
    sigmas = drive(opt, noise_per_step, curvature, target)

    np.testing.assert_allclose(mean.numpy(), expected_mu, rtol=1e-12)
    np.testing.assert_allclose(opt.exp_avg_sq[0].numpy(), expected_s, rtol=1e-12)
    np.testing.assert_allclose(np.stack(sigmas), np.stack(expected_sigmas), rtol=1e-12)
    assert expected_sigmas[0] == pytest.approx(np.full((2, 3), 0.5))  # 1/√(N s₀ + δ) = 1/√4


def test_with_several_draws_the_reference_form_shrinks_sigma_faster():
    rng = np.random.default_rng(3)
    noise_per_step = [rng.standard_normal((3, 1, 4)) for _ in range(20)]
    curvature, target = np.array([[1.0, 2.0, 0.5, 3.0]]), np.zeros((1, 4))
    sigmas = {}
    for form in ("mean_of_squares", "square_of_mean"):
        opt = VAdam([torch.full((1, 4), 0.1, dtype=torch.float64)], lr=0.01, data_size=50, samples=3,
                    second_moment=form)
        drive(opt, noise_per_step, curvature, target)
        sigmas[form] = opt.sigma()[0]
    assert torch.all(sigmas["mean_of_squares"] < sigmas["square_of_mean"])


def test_sigma_is_one_over_root_of_n_times_s_plus_scaled_prior():
    opt = VAdam([torch.zeros(3, dtype=torch.float64)], lr=0.1, data_size=50, prior_precision=5.0, init_precision=5.0)
    opt.exp_avg_sq[0].copy_(torch.tensor([0.0, 0.02, 1.5], dtype=torch.float64))
    expected = 1 / np.sqrt(50 * (np.array([0.0, 0.02, 1.5]) + 5.0 / 50))
    np.testing.assert_allclose(opt.sigma()[0].numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(opt.precision()[0].numpy(), 1 / expected ** 2, rtol=1e-12)
    assert opt.scaled_prior == pytest.approx(0.1)


def test_same_gradients_give_smaller_sigma_with_more_data():
    def sigma_after(n):
        opt = VAdam([torch.zeros(2, dtype=torch.float64)], lr=0.01, data_size=n, prior_precision=1.0)
        for _ in range(10):
            opt.step([torch.tensor([[0.3, -0.1]], dtype=torch.float64)])
        return opt.sigma()[0]

    small, large = sigma_after(100), sigma_after(10_000)
    assert torch.all(large < small)
    assert torch.all(small < 1.0)  # σ₀ = 1/√(init precision 1)


def test_prior_term_alone_shrinks_the_mean_toward_zero():
    # No likelihood gradient, s₀ = 0: the first step is μ ← μ − lr·δ̃μ/(0 + δ̃) = (1 − lr) μ.
    mean = torch.tensor([2.0, -4.0], dtype=torch.float64)
    opt = VAdam([mean], lr=0.1, data_size=20, betas=(0.5, 0.999), prior_precision=3.0, init_precision=3.0)
    opt.step([torch.zeros(1, 2, dtype=torch.float64)])
    torch.testing.assert_close(mean, torch.tensor([1.8, -3.6], dtype=torch.float64))
    previous = mean.abs().clone()
    for _ in range(5):
        opt.step([torch.zeros(1, 2, dtype=torch.float64)])
        assert torch.all(mean.abs() < previous)
        previous = mean.abs().clone()
    torch.testing.assert_close(opt.sigma()[0], torch.full((2,), 1 / np.sqrt(3.0), dtype=torch.float64))


def test_sample_draws_m_perturbations_with_the_current_sigma():
    mean = torch.tensor([[0.5, -0.5]])
    opt = VAdam([mean], lr=0.1, data_size=4, prior_precision=1.0, init_precision=16.0, samples=3)
    first = opt.sample(torch.Generator().manual_seed(7))[0]
    noise = torch.randn((3, 1, 2), generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(first, mean + 0.25 * noise)


def test_state_dict_round_trip_continues_identically():
    def fresh():
        return VAdam([torch.tensor([0.2, -0.3])], lr=0.05, data_size=8, betas=(0.5, 0.999))

    opt = fresh()
    for g in ([0.1, 0.2], [0.3, -0.1]):
        opt.step([torch.tensor([g])])
    other = fresh()
    other.params[0].copy_(opt.params[0])
    other.load_state_dict(opt.state_dict())
    for o in (opt, other):
        o.step([torch.tensor([[-0.2, 0.4]])])
    torch.testing.assert_close(other.params[0], opt.params[0])
    torch.testing.assert_close(other.sigma()[0], opt.sigma()[0])
    assert other.steps == opt.steps == 3


SETTINGS = dict(lr=0.1, data_size=10, betas=(0.9, 0.999), prior_precision=1.0, init_precision=1.0, samples=1)


@pytest.mark.parametrize("bad, message", [
    (dict(init_precision=0.5), r"VAdam init_precision \(0.5\) must be >= prior_precision \(1.0\)"),
    (dict(samples=0), r"VAdam samples \(M\) must be >= 1, got 0"),
    (dict(prior_precision=0.0), r"VAdam prior_precision \(δ\) must be > 0, got 0.0"),
    (dict(betas=(1.0, 0.999)), r"VAdam betas must lie in \[0, 1\), got \(1.0, 0.999\)"),
    (dict(betas=(0.9, 1.0)), r"VAdam betas must lie in \[0, 1\)"),
    (dict(betas=(-0.1, 0.999)), r"VAdam betas must lie in \[0, 1\)"),
    (dict(betas=(0.9, -0.1)), r"VAdam betas must lie in \[0, 1\)"),
    (dict(data_size=0), r"VAdam data_size \(N\) must be >= 1, got 0"),
    (dict(lr=-1.0), r"VAdam lr must be >= 0, got -1.0"),
])
def test_invalid_settings_are_user_errors(bad, message):
    with pytest.raises(UserError, match=f"^{message}"):
        VAdam([torch.zeros(2)], **{**SETTINGS, **bad})


@pytest.mark.parametrize("edge", [dict(lr=0.0), dict(betas=(0.0, 0.0)), dict(data_size=1), dict(samples=1),
                                  dict(prior_precision=2.0, init_precision=2.0)])
def test_boundary_settings_are_accepted(edge):
    opt = VAdam([torch.zeros(2)], **{**SETTINGS, **edge})
    assert opt.samples == 1 and opt.data_size == edge.get("data_size", 10)
    assert opt.betas == tuple(float(b) for b in edge.get("betas", (0.9, 0.999)))


@pytest.mark.parametrize("bad", [dict(second_moment="median"), dict(draw_gradients="summed")])
def test_unknown_forms_are_user_errors(bad):
    with pytest.raises(UserError):
        VAdam([torch.zeros(2)], **{**SETTINGS, **bad})


def test_step_rejects_a_wrong_number_of_gradients():
    with pytest.raises(ValueError, match="VAdam.step got 2 gradients for 1 parameters"):
        VAdam([torch.zeros(2)], **SETTINGS).step([torch.zeros(2), torch.zeros(2)])


def test_defaults_are_one_sample_unit_initial_precision_and_adams_betas():
    opt = VAdam([torch.zeros(3)], lr=0.1, data_size=10)
    assert opt.samples == 1 and opt.betas == (0.9, 0.999) and opt.prior_precision == 1.0
    torch.testing.assert_close(opt.sigma()[0], torch.ones(3))  # σ₀ = 1/√(init precision 1)


def test_noise_has_the_parameters_dtype_and_comes_from_the_generator():
    opt = VAdam([torch.zeros(2, 3, dtype=torch.float64)], lr=0.1, data_size=10, samples=4)
    (noise,) = opt.draw_noise(torch.Generator().manual_seed(5))
    expected = torch.randn((4, 2, 3), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert noise.dtype == torch.float64
    torch.testing.assert_close(noise, expected, rtol=0, atol=0)

"""Variational Adam (VAdam): Adam whose parameters are the means of a Gaussian posterior.

Khan et al. 2018, "Fast and Scalable Bayesian Deep Learning by Weight-Perturbation in
Adam" (Fig. 1), as BaLeNAS uses it for the architecture parameters (BaLeNAS Eq. 13–18).
Followed line by line: ``pytorch/vadam/optimizers.py`` (class ``Vadam``) of emtiyaz/vadam,
which BaLeNAS's code (miaozhang0525/iDARTS, ``NAS-Bench-1Shot1-codes/optimizers/idarts_v2/
architect.py``) imports with ``prec_init=1, train_set_size=25000, betas=(0.5, 0.999)`` and
the default ``prior_prec=1``. Each parameter tensor μ carries q = N(μ, σ²) with

    σ² = 1 / (N (s + δ̃)) = 1 / (N s + δ),  δ̃ = δ / N

where δ is the prior precision (p = N(0, I/δ), Eq. 5), N the data size and s the running
second moment. One step, from the gradients g_1..g_M at the M draws α_m = μ + σ ε_m:

    ĝ = 1/M Σ g_m                                          (first-moment input)
    m ← β1 m + (1 − β1)(ĝ + δ̃ μ)                           (prior term on the unperturbed μ)
    s ← β2 s + (1 − β2) h,   h = 1/M Σ g_m²  (``mean_of_squares``, the reference)
                          or h = ĝ²         (``square_of_mean``, BaLeNAS Eq. 15/18 as printed)
    μ ← μ − lr · m̂ / (√ŝ + δ̃),  m̂ = m/(1 − β1^t),  ŝ = s/(1 − β2^t)

Bias correction applies to the step only; σ uses the raw s (Fig. 1, line 2), which starts
at s₀ = (λ₀ − δ)/N so that the initial precision N s₀ + δ is the chosen λ₀ (σ₀ = 1/√λ₀).

Why ``mean_of_squares`` is the default: the reference code accumulates ``g**2`` per draw
and divides by M (``grads2``), the Monte-Carlo estimate of E_q[g²] that Khan et al.
derive; the paper's text writes the gradient-magnitude approximation with the square of
the averaged gradient, which drops the spread between draws and is 2–3× smaller at M = 3
with σ ≈ 1, so σ shrinks far more slowly. Deviation from the BaLeNAS code: its
architecture closure never zeroes ``α.grad`` between VAdam's M calls, so the m-th
"per-draw" gradient it records is the running sum g_1 + … + g_m; VAdam's own examples
zero the gradient inside the closure, and Khan et al.'s algorithm uses per-draw
gradients, so we take g_m as they define it by default; ``draw_gradients = "cumulative"``
reproduces the BaLeNAS closure (g_m replaced by g_1 + … + g_m before both moments).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from harness import UserError
from plugins.balenas.options import DrawGradients, SecondMoment

SECOND_MOMENTS: tuple[str, ...] = ("mean_of_squares", "square_of_mean")
DRAW_GRADIENTS: tuple[str, ...] = ("separate", "cumulative")


class VAdam:
    """The VAdam state of a list of mean tensors ``params`` (updated in place by ``step``).

    It does not evaluate losses itself: ``sample`` gives the perturbed copies, the caller
    computes each draw's gradient, ``step`` applies the update. That keeps it usable with
    any gradient source (first- or second-order architecture gradients, tests with fixed
    noise).
    """

    def __init__(self, params: Sequence[torch.Tensor], lr: float, data_size: int,
                 betas: Sequence[float] = (0.9, 0.999), prior_precision: float = 1.0,
                 init_precision: float = 1.0, samples: int = 1,
                 second_moment: SecondMoment = "mean_of_squares", draw_gradients: DrawGradients = "separate") -> None:
        beta1, beta2 = (float(b) for b in betas)
        if lr < 0:
            raise UserError(f"VAdam lr must be >= 0, got {lr}")
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise UserError(f"VAdam betas must lie in [0, 1), got {tuple(betas)}")
        if prior_precision <= 0:
            raise UserError(f"VAdam prior_precision (δ) must be > 0, got {prior_precision}")
        if data_size < 1:
            raise UserError(f"VAdam data_size (N) must be >= 1, got {data_size}")
        if init_precision < prior_precision:
            raise UserError(f"VAdam init_precision ({init_precision}) must be >= prior_precision "
                            f"({prior_precision}): the precision N·s + δ starts at init_precision with s >= 0")
        if int(samples) < 1:
            raise UserError(f"VAdam samples (M) must be >= 1, got {samples}")
        if second_moment not in SECOND_MOMENTS:
            raise UserError(f"VAdam second_moment must be one of {', '.join(SECOND_MOMENTS)}, got {second_moment!r}")
        if draw_gradients not in DRAW_GRADIENTS:
            raise UserError(f"VAdam draw_gradients must be one of {', '.join(DRAW_GRADIENTS)}, got {draw_gradients!r}")
        self.params = list(params)
        self.lr = float(lr)
        self.betas = (beta1, beta2)
        self.prior_precision = float(prior_precision)
        self.data_size = int(data_size)
        self.init_precision = float(init_precision)
        self.samples = int(samples)
        self.second_moment = second_moment
        self.draw_gradients = draw_gradients
        self.steps = 0
        initial_s = (self.init_precision - self.prior_precision) / self.data_size
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.full_like(p, initial_s) for p in self.params]

    @property
    def scaled_prior(self) -> float:
        """δ̃ = δ / N."""
        return self.prior_precision / self.data_size

    def precision(self) -> list[torch.Tensor]:
        """Posterior precision N (s + δ̃) = N s + δ per entry."""
        return [self.data_size * s + self.prior_precision for s in self.exp_avg_sq]

    def sigma(self) -> list[torch.Tensor]:
        """Posterior standard deviation σ = 1 / √(N (s + δ̃)) per entry."""
        return [precision.rsqrt() for precision in self.precision()]

    def draw_noise(self, generator: torch.Generator) -> list[torch.Tensor]:
        """ε ~ N(0, I) of shape ``(M, *param.shape)`` per parameter, from ``generator``."""
        return [torch.randn((self.samples, *p.shape), generator=generator, device=generator.device,
                            dtype=p.dtype).to(p.device) for p in self.params]

    def perturb(self, noise: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """α = μ + σ ε for given noise (any leading sample dimensions)."""
        return [p.detach() + sigma * eps.to(p.device) for p, sigma, eps in zip(self.params, self.sigma(), noise)]

    def sample(self, generator: torch.Generator) -> list[torch.Tensor]:
        """M Monte-Carlo draws per parameter, ``(M, *param.shape)``."""
        return self.perturb(self.draw_noise(generator))

    def moments(self, draw_grads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ĝ, h): the first-moment input and the second-moment input from ``(M, ...)`` per-draw gradients."""
        if self.draw_gradients == "cumulative":
            draw_grads = draw_grads.cumsum(dim=0)
        mean = draw_grads.mean(dim=0)
        if self.second_moment == "mean_of_squares":
            return mean, draw_grads.square().mean(dim=0)
        return mean, mean.square()

    @torch.no_grad()
    def step(self, draw_grads: Sequence[torch.Tensor]) -> None:
        """One VAdam update of the means from each parameter's per-draw gradients ``(M, *param.shape)``."""
        if len(draw_grads) != len(self.params):
            raise ValueError(f"VAdam.step got {len(draw_grads)} gradients for {len(self.params)} parameters")
        beta1, beta2 = self.betas
        self.steps += 1
        correction1 = 1.0 - beta1 ** self.steps
        correction2 = 1.0 - beta2 ** self.steps
        prior = self.scaled_prior
        for mean, grads, m, s in zip(self.params, draw_grads, self.exp_avg, self.exp_avg_sq):
            if grads.shape[1:] != mean.shape:
                raise ValueError(f"VAdam.step wants (M, *{tuple(mean.shape)}) gradients, got {tuple(grads.shape)}")
            grad, square = self.moments(grads.to(mean.dtype))
            m.mul_(beta1).add_(grad + prior * mean, alpha=1.0 - beta1)
            s.mul_(beta2).add_(square, alpha=1.0 - beta2)
            denominator = (s / correction2).sqrt_().add_(prior)
            mean.addcdiv_(m / correction1, denominator, value=-self.lr)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps,
                "exp_avg": [m.detach().cpu().clone() for m in self.exp_avg],
                "exp_avg_sq": [s.detach().cpu().clone() for s in self.exp_avg_sq]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        for target, saved in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"]):
            target.copy_(saved.to(target.device))

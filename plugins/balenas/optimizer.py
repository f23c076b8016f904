"""BaLeNAS (Zhang et al.): architecture parameters α ~ N(μ, σ²) learned with VAdam.

Algorithm 1: only the architecture update differs from DARTS. Each architecture step
draws M samples α_m = μ + σ ε_m, takes the DARTS gradient ∇α L_val at each (first order,
or unrolled second order) and hands their mean to VAdam; the weight step and evaluation
mix the supernet with softmax(μ), and argmax on μ gives the architecture.

Defaults and why (the paper gives no values for δ, N or the initial precision):
``lr`` 3e-4 and ``betas`` (0.5, 0.999) are DARTS' architecture Adam settings, which
BaLeNAS keeps ("an Adam-like optimizer"); ``prior_precision`` δ = 1 and
``init_precision`` 1 give s₀ = 0 and σ₀ = 1, a posterior wide enough that the M draws
mix the ops very differently at the start (exploration) while μ ~ 1e-3 carries no
preference yet; ``data_size`` N defaults to the size of the search-validation half,
whose loss is α's likelihood (25,000 on CIFAR-10, the same as the train half). σ then
shrinks only where the gradients are consistently large, σ = 1/√(N s + 1): on the NB201
supernet (C=16, N=5) with CIFAR-10 the first architecture steps give a mean ĝ² ≈ 5e-4,
so σ ≈ 0.46 after one epoch (s ≈ 0.32·E[ĝ²]) and ≈ 0.3 once s has settled, if that
gradient scale held; a 10-epoch digits run (N ≈ 900) only reaches σ ≈ 0.93.
``samples`` M = 3 is the best setting of Table 5.
"""
from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field

from harness import ArchOptimizer, Options, RunContext, SearchSpace, SearchStep, Supernet, arch_gradient
from plugins.balenas.vadam import VAdam


class BalenasOptions(Options):
    samples: int = Field(3, ge=1, description="Monte-Carlo draws M of α per architecture step")
    prior_precision: float = Field(1.0, gt=0, description="prior precision δ of N(0, 1/δ)")
    init_precision: float = Field(1.0, gt=0, description="initial precision of q(α) (σ₀ = 1/√init_precision)")
    data_size: int | None = Field(None, ge=1, description="N of VAdam; null: the search-validation half's size")
    lr: float = Field(3e-4, gt=0, description="VAdam learning rate of μ")
    betas: tuple[float, float] = Field((0.5, 0.999), description="VAdam betas (as DARTS' Adam)")
    order: Literal[1, 2] = Field(1, description="1: first-order gradient; 2: unrolled")
    init_scale: float = Field(1e-3, ge=0, description="μ starts at init_scale·N(0, 1), as DARTS' α")


def _softmax(alpha: torch.Tensor) -> torch.Tensor:
    return torch.softmax(alpha, dim=-1)


def _masked(alpha: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """α with the ops an edge does not offer at -inf (``mask``: the space's ``logit_mask``), so that
    the softmax runs over each edge's candidates."""
    return alpha if mask is None else alpha + mask


class BalenasOptimizer(ArchOptimizer):
    """q(α) = N(μ, σ²) per edge-op; μ and the precision state s updated by VAdam."""

    name = "balenas"
    Options = BalenasOptions
    options: BalenasOptions
    mu: torch.Tensor  # set by attach()
    vadam: VAdam  # set by attach()
    generator: torch.Generator  # set by attach()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.order = self.options.order

    def attach(self, space: SearchSpace, supernet: Supernet, run: RunContext) -> None:
        """μ = init_scale·N(0, I) as DARTS' α (same seed, same draw); the generator then drives the MC noise."""
        self.generator = torch.Generator().manual_seed(run.seed)
        mu = self.options.init_scale * torch.randn(space.num_edges, space.num_ops, generator=self.generator)
        self.mu = mu.to(run.device)
        self.mask = space.logit_mask(run.device)
        data_size = self.options.data_size
        self.vadam = VAdam(
            [self.mu], lr=self.options.lr,
            data_size=int(data_size) if data_size is not None else len(run.data.valid),
            betas=self.options.betas, prior_precision=self.options.prior_precision,
            init_precision=self.options.init_precision, samples=self.options.samples)

    def mixing_weights(self, training: bool) -> torch.Tensor:
        return _softmax(_masked(self.mu, self.mask))

    def logits(self) -> torch.Tensor:
        return self.mu

    def sigma(self) -> torch.Tensor:
        """σ per edge-op, ``(num_edges, num_ops)``."""
        return self.vadam.sigma()[0]

    def step(self, step: SearchStep) -> None:
        draws = self.vadam.sample(self.generator)[0]
        grads = [arch_gradient(step, alpha.clone().requires_grad_(True), lambda a: _softmax(_masked(a, self.mask)),
                               unrolled=self.order == 2)
                 for alpha in draws]
        self.vadam.step([torch.stack(grads).mean(dim=0)])

    def sample_logits(self, count: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn((count, *self.mu.shape), generator=generator, device=generator.device,
                            dtype=self.mu.dtype).to(self.mu.device)
        return self.mu + self.sigma() * noise

    def summary(self) -> dict[str, float]:
        sigma = self.sigma()
        chosen = sigma.gather(1, self.mu.argmax(dim=1, keepdim=True))
        return {"sigma_mean": float(sigma.mean()), "sigma_min": float(sigma.min()), "sigma_max": float(sigma.max()),
                "sigma_argmax_mean": float(chosen.mean()), "mu_abs_mean": float(self.mu.abs().mean())}

    def state_dict(self) -> dict[str, Any]:
        return {"mu": self.mu.detach().cpu().clone(), "vadam": self.vadam.state_dict(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mu.copy_(state["mu"].to(self.mu.device))
        self.vadam.load_state_dict(state["vadam"])
        self.generator.set_state(state["generator"])

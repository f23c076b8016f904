"""BaLeNAS (Zhang et al.): architecture parameters α ~ N(μ, σ²) learned with VAdam.

Algorithm 1: only the architecture update differs from DARTS. Each architecture step
draws M samples α_m = μ + σ ε_m, takes the DARTS gradient ∇α L_val at each (first order,
or unrolled second order) and hands them to VAdam (their mean drives μ, their second
moment the precision; see ``plugins.balenas.vadam``); the weight step and evaluation mix
the supernet with softmax(μ), and argmax on μ gives the architecture.

Defaults follow BaLeNAS's code (miaozhang0525/iDARTS, ``NAS-Bench-1Shot1-codes/optimizers/
idarts_v2/architect.py``, which builds emtiyaz/vadam's ``Vadam``): ``lr`` 3e-4 and
``betas`` (0.5, 0.999) (DARTS' architecture Adam settings), ``init_precision`` 1 and
``prior_precision`` δ = 1 (σ₀ = 1, s₀ = 0), ``data_size`` N = 25,000, and the per-draw
``second_moment`` (mean of g_m²). ``samples`` M = 3 is the best setting of the paper's
Table 5 (the code's ``num_mc`` argument). Deviation, second order: the reference's
unrolled closure builds the unrolled model once, before VAdam perturbs α, so only its
Hessian term sees the draw; we unroll at every draw, the gradient of Eq. 9 at α_m.

What N means, on every dataset: the reference hard-codes ``train_set_size = 25000`` —
the size of CIFAR-10's search half — whatever it searches, so N acts as a fixed
hyper-parameter (the posterior's inverse temperature: σ = 1/√(N s + δ)), not as a count
read from the data. We keep it fixed at 25,000 on every dataset (digits, synthetic,
CIFAR-10/100, ImageNet16-120): CIFAR-10 is then exactly the reference, and σ's schedule
is a property of the method, as DARTS' learning rate is, instead of shrinking 33× more
slowly on the 749 validation images of digits or 3× faster on ImageNet16-120's 75,850.
``data_size = null`` restores the Bayesian reading (N = the search-validation half, α's
likelihood), for studies of that choice.
"""
from __future__ import annotations

from typing import Any

import torch

from harness import ArchOptimizer, RunContext, SearchSpace, SearchStep, Supernet, arch_gradient
from plugins.balenas.options import BalenasOptions
from plugins.balenas.vadam import VAdam


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
            init_precision=self.options.init_precision, samples=self.options.samples,
            second_moment=self.options.second_moment, draw_gradients=self.options.draw_gradients)

    def mixing_weights(self, training: bool) -> torch.Tensor:
        return _softmax(_masked(self.mu, self.mask))

    def logits(self) -> torch.Tensor:
        return self.mu

    def sigma(self) -> torch.Tensor:
        """σ per edge-op, ``(num_edges, num_ops)``."""
        return self.vadam.sigma()[0]

    def step(self, step: SearchStep) -> None:
        draws = [alpha.clone().requires_grad_(True) for alpha in self.vadam.sample(self.generator)[0]]
        self.apply_gradients([arch_gradient(step, alpha, self.weights_at, unrolled=self.order == 2) for alpha in draws])

    def stackable(self) -> bool:
        return self.order == 1

    def gradient_points(self) -> list[torch.Tensor]:
        """The M draws α_m = μ + σ ε_m of this step."""
        return [alpha.clone().requires_grad_(True) for alpha in self.vadam.sample(self.generator)[0]]

    def weights_at(self, point: torch.Tensor) -> torch.Tensor:
        return _softmax(_masked(point, self.mask))

    def apply_gradients(self, grads: list[torch.Tensor]) -> None:
        self.vadam.step([torch.stack(grads)])

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

"""DARTS (Liu et al. 2019): softmax over α per edge, Adam on ∇α L_val, 1st or 2nd order."""
from __future__ import annotations

from typing import Any

import torch

from harness import ArchOptimizer, RunContext, SearchSpace, SearchStep, Supernet, arch_gradient
from plugins.darts.options import DartsOptions


def _softmax(alpha: torch.Tensor) -> torch.Tensor:
    return torch.softmax(alpha, dim=-1)


def _masked(alpha: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """α with the ops an edge does not offer at -inf (``mask``: the space's ``logit_mask``), so that
    the softmax runs over each edge's candidates."""
    return alpha if mask is None else alpha + mask


class DartsOptimizer(ArchOptimizer):
    """α ∈ R^{E×O}, initialized 1e-3·N(0, 1); Adam(lr 3e-4, betas (0.5, 0.999), wd 1e-3).

    ``order: 2`` uses the unrolled (second-order) gradient of DARTS Eq. 7–8.
    """

    name = "darts"
    Options = DartsOptions
    options: DartsOptions
    alpha: torch.Tensor  # set by attach()
    adam: torch.optim.Adam  # set by attach()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.order = self.options.order
        self.lr = self.options.lr
        self.betas = self.options.betas
        self.weight_decay = self.options.weight_decay
        self.init_scale = self.options.init_scale

    def attach(self, space: SearchSpace, supernet: Supernet, run: RunContext) -> None:
        generator = torch.Generator().manual_seed(run.seed)
        alpha = self.init_scale * torch.randn(space.num_edges, space.num_ops, generator=generator)
        self.alpha = alpha.to(run.device).requires_grad_(True)
        self.mask = space.logit_mask(run.device)
        graphed = bool(run.search.get("cuda_graphs")) and run.device.type == "cuda"
        self.adam = torch.optim.Adam([self.alpha], lr=self.lr, betas=self.betas, weight_decay=self.weight_decay,
                                     capturable=graphed)

    def mixing_weights(self, training: bool) -> torch.Tensor:
        return _softmax(_masked(self.alpha, self.mask))

    def logits(self) -> torch.Tensor:
        return self.alpha.detach()

    def step(self, step: SearchStep) -> None:
        self.apply_gradients([arch_gradient(step, self.alpha, self.weights_at, unrolled=self.order == 2)])

    def stackable(self) -> bool:
        return self.order == 1

    def capturable(self) -> bool:
        return self.order == 1  # attach builds Adam with capturable=True under search.cuda_graphs

    def gradient_points(self) -> list[torch.Tensor]:
        return [self.alpha]

    def weights_at(self, point: torch.Tensor) -> torch.Tensor:
        return _softmax(_masked(point, self.mask))

    def apply_gradients(self, grads: list[torch.Tensor]) -> None:
        self.adam.zero_grad(set_to_none=True)
        self.alpha.grad = grads[0]
        self.adam.step()

    def summary(self) -> dict[str, float]:
        probabilities = _softmax(_masked(self.alpha.detach(), self.mask))
        return {"max_prob_mean": float(probabilities.max(dim=-1).values.mean())}

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha.detach().cpu(), "adam": self.adam.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.alpha.copy_(state["alpha"].to(self.alpha.device))
        self.adam.load_state_dict(state["adam"])


class FixedOptimizer(ArchOptimizer):
    """α frozen at uniform: the supernet trains every op with equal weight (PT's fix-α).

    Also the no-op optimizer of methods that need no architecture learning (random,
    zero-cost).
    """

    bilevel = False
    name = "fixed"

    def attach(self, space: SearchSpace, supernet: Supernet, run: RunContext) -> None:
        self.alpha = torch.zeros(space.num_edges, space.num_ops, device=run.device)
        self.mask = space.logit_mask(run.device)

    def mixing_weights(self, training: bool) -> torch.Tensor:
        return _softmax(_masked(self.alpha, self.mask))

    def logits(self) -> torch.Tensor:
        return self.alpha

    def capturable(self) -> bool:
        return True

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

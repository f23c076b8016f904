"""GraSP (Wang et al. 2020) as a network score, Eq. 8: S = Σ −θ ⊙ (H g).

g = ∂L/∂θ and H the Hessian of the loss over the convolution and linear weights, on one
labelled batch. H g is a Hessian-vector product: the gradient of gᵀ∇L with g held
constant (double backward), never the Hessian itself. The sign follows the zero-cost
reference, which negates θ ⊙ Hg because accuracy correlates negatively with it, so higher
is better here as for every proxy.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from harness import Proxy
from plugins.proxies.layers import gradients_or_zeros, scoring_copy


class Grasp(Proxy):
    """Negated weight-times-Hessian-gradient product of the prunable layers at initialization.

    ``temperature`` divides the logits before the loss (the GraSP paper prunes with 200; the
    zero-cost reference scores with 1).
    """

    name = "grasp"
    needs_labels = True

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def score(
        self,
        network: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> float:
        scored, weights = scoring_copy(network)
        loss = loss_fn(scored(inputs) / self.temperature, targets)
        grads = gradients_or_zeros(torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True), weights)
        gradient_flow = sum((g.detach() * g).sum() for g in grads)
        # sum() of no terms is the int 0; either way the gradient does not depend on θ: H = 0
        if not isinstance(gradient_flow, torch.Tensor) or not gradient_flow.requires_grad:
            return 0.0
        hessian_gradient = gradients_or_zeros(torch.autograd.grad(gradient_flow, weights, allow_unused=True), weights)
        return float(sum((-w.detach() * hg).sum() for w, hg in zip(weights, hessian_gradient)))

"""SynFlow (Tanaka et al. 2020), the data-free proxy of Eq. 8: S = Σ θ ⊙ ∂R/∂θ.

R = 1ᵀ (∏_l |θ_l|) 1 is the output summed over classes of the network with every parameter
replaced by its absolute value, BatchNorm removed, fed an all-ones input. It needs no data
and no labels. Deep networks make R grow like a product of per-layer gains (≈1e40–1e70
for NB201 cells at init), beyond float32's 3.4e38, so the score is computed in float64 on
a copy of the network, which also leaves the caller's parameters untouched.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from harness import Proxy, UserError
from plugins.proxies.layers import gradients_or_zeros, prunable_weights, without_batchnorm


class SynFlow(Proxy):
    """Synaptic flow of the linearized network; larger means more signal flows through."""

    name = "synflow"
    needs_labels = False
    needs_inputs = False

    def score(
        self,
        network: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> float:
        linearized = without_batchnorm(copy.deepcopy(network)).double().eval()
        with torch.no_grad():
            for parameter in linearized.parameters():
                parameter.abs_()
        weights = prunable_weights(linearized)
        for weight in weights:
            weight.requires_grad_(True)
        ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
        flow = linearized(ones).sum()
        if not math.isfinite(flow.item()):
            raise UserError(f"SynFlow's R = {flow.item()} exceeds float64 range for this network; "
                            "it is too deep or its weights too large for a finite SynFlow score")
        grads = gradients_or_zeros(torch.autograd.grad(flow, weights, allow_unused=True), weights)
        return float(sum((w.detach() * g).sum() for w, g in zip(weights, grads)))

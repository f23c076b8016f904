"""SNIP (Lee et al. 2019) as a network score, Eq. 8: S = Σ |∂L/∂θ ⊙ θ|.

The connection sensitivity of every convolution and linear weight on one labelled batch,
summed. BatchNorm uses batch statistics (train mode) as in the zero-cost reference; the
network is scored on a copy so its running statistics and gradients stay untouched.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from harness import Proxy
from plugins.proxies.layers import gradients_or_zeros, scoring_copy


class Snip(Proxy):
    """Summed |gradient × weight| of the prunable layers at initialization."""

    name = "snip"
    needs_labels = True

    def score(
        self,
        network: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> float:
        scored, weights = scoring_copy(network)
        loss = loss_fn(scored(inputs), targets)
        grads = gradients_or_zeros(torch.autograd.grad(loss, weights, allow_unused=True), weights)
        return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads)))

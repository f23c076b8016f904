"""Which tensors the saliency proxies score, and the BatchNorm bypass SynFlow needs.

The zero-cost proxies (Abdelfattah et al. 2021) score the weights of the prunable layers
only, i.e. convolutions and fully connected layers (not biases, not BatchNorm affine).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from harness import UserError

PRUNABLE = (_ConvNd, nn.Linear)


def prunable_weights(network: nn.Module) -> list[torch.Tensor]:
    """The weight tensors of every convolution and linear layer, in module order."""
    weights = [module.weight for module in network.modules() if isinstance(module, PRUNABLE)]
    if not weights:
        raise UserError(f"{type(network).__name__} has no convolution or linear layer for a proxy to score")
    return weights


def scoring_copy(network: nn.Module) -> tuple[nn.Module, list[torch.Tensor]]:
    """A training-mode copy of ``network`` and its prunable weights, ready for autograd.

    Scoring a copy leaves the caller's parameters, gradients, running statistics and mode
    untouched.
    """
    scored = copy.deepcopy(network).train()
    weights = prunable_weights(scored)
    for weight in weights:
        weight.requires_grad_(True)
    return scored, weights


def without_batchnorm(network: nn.Module) -> nn.Module:
    """``network`` with every BatchNorm layer replaced by the identity (in place).

    SynFlow is meant to be data-free; BatchNorm would normalize the all-ones input by its
    own statistics, so the reference removes it (its ``synflow`` uses ``bn=False``).
    """
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(parent, name, nn.Identity())
    return network


def gradients_or_zeros(grads: tuple[torch.Tensor | None, ...], weights: list[torch.Tensor]) -> list[torch.Tensor]:
    """``autograd.grad(..., allow_unused=True)`` results with ``None`` (weights the loss does not reach) as zeros."""
    return [torch.zeros_like(w) if g is None else g for g, w in zip(grads, weights)]

"""The architecture gradient DARTS-style optimizers share: first order, or unrolled second order."""
from __future__ import annotations

from collections.abc import Callable

import torch

from harness.api.step import SearchStep


def gradient_or_zeros(loss: torch.Tensor, leaf: torch.Tensor) -> torch.Tensor:
    """∂loss/∂leaf, or zeros when ``leaf`` does not reach ``loss``."""
    if not loss.requires_grad:
        return torch.zeros_like(leaf)
    (grad,) = torch.autograd.grad(loss, leaf, allow_unused=True)
    return torch.zeros_like(leaf) if grad is None else grad


def arch_gradient(step: SearchStep, logits: torch.Tensor, to_weights: Callable[[torch.Tensor], torch.Tensor],
                  unrolled: bool = False) -> torch.Tensor:
    """∇ of the validation loss w.r.t. ``logits`` (a leaf that requires grad).

    First order: ∇α L_val(w, α). Second order (DARTS Eq. 7–8): the gradient at the
    unrolled weights w' = w − ξ∇w L_train(w, α) (ξ = current weight LR, with the weight
    optimizer's momentum and weight decay as in the reference), minus ξ times the
    finite-difference Hessian-vector product with ε = 0.01 / ‖∇w' L_val(w', α)‖.

    Where the weights do not reach the loss (a hard one-hot sample built without a
    straight-through path), the gradient is zero, not an autograd error.
    """
    if not unrolled:
        loss = step.loss(step.val_batch, to_weights(logits), weight_grads=False)
        return gradient_or_zeros(loss, logits)

    trainer = step.trainer
    params = trainer.weight_parameters()
    xi = trainer.current_lr()
    momentum, decay = trainer.search["momentum"], trainer.search["weight_decay"]
    backup = [p.detach().clone() for p in params]

    train_loss = step.loss(step.train_batch, to_weights(logits.detach()))
    grads = torch.autograd.grad(train_loss, params, allow_unused=True)
    with torch.no_grad():
        for p, g in zip(params, grads):
            direction = decay * p if g is None else g + decay * p
            buffer = trainer.momentum_buffer(p)
            if buffer is not None:
                direction = direction + momentum * buffer
            p.sub_(xi * direction)

    val_loss = step.loss(step.val_batch, to_weights(logits))
    d_logits, *d_params = torch.autograd.grad(val_loss, [logits, *params], allow_unused=True)
    d_params = [torch.zeros_like(p) if g is None else g for p, g in zip(params, d_params)]
    norm = torch.cat([g.flatten() for g in d_params]).norm()
    eps = 0.01 / norm.clamp_min(1e-12)

    def train_grad_at(sign: float) -> torch.Tensor:
        with torch.no_grad():
            for p, b, g in zip(params, backup, d_params):
                p.copy_(b + sign * eps * g)
        loss = step.loss(step.train_batch, to_weights(logits), weight_grads=False)
        return gradient_or_zeros(loss, logits)

    try:
        hessian_vector = (train_grad_at(1.0) - train_grad_at(-1.0)) / (2 * eps)
    finally:
        with torch.no_grad():
            for p, b in zip(params, backup):
                p.copy_(b)
    return (d_logits if d_logits is not None else torch.zeros_like(logits)) - xi * hessian_vector

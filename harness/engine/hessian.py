"""Dominant eigenvalue of the Hessian of the validation loss w.r.t. the architecture.

Zela et al. (2020) showed that DARTS' collapse to parameter-free operations goes with a
growing dominant eigenvalue of ∇²_α L_val; tracking it per epoch shows whether a method
(e.g. BaLeNAS) keeps the architecture in a flat region. Power iteration needs only
Hessian-vector products (double backward), never the Hessian itself.
"""
from __future__ import annotations

from collections.abc import Callable

import torch


def dominant_hessian_eigenvalue(loss_fn: Callable[[torch.Tensor], torch.Tensor], alpha: torch.Tensor,
                                iterations: int = 20, generator: torch.Generator | None = None) -> float:
    """The eigenvalue of largest magnitude of ∇²_α loss_fn(α), by power iteration.

    ``loss_fn`` must build its graph from the tensor it is given (the architecture
    parameters, any shape); ``alpha`` itself is not modified. The result is the
    Rayleigh quotient vᵀHv of the final unit iterate v, so its sign is kept.
    """
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    point = alpha.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(loss_fn(point), point, create_graph=True)
    if not gradient.requires_grad:
        return 0.0
    source = generator.device if generator is not None else point.device
    vector = torch.randn(point.shape, generator=generator, dtype=point.dtype, device=source).to(point.device)
    vector = vector / vector.norm()
    eigenvalue = 0.0
    for _ in range(iterations):
        (product,) = torch.autograd.grad(gradient, point, grad_outputs=vector, retain_graph=True, allow_unused=True)
        if product is None:
            return 0.0
        eigenvalue = float((vector * product).sum())
        norm = product.norm()
        if norm == 0:
            return 0.0
        vector = product.detach() / norm
    return eigenvalue

"""Power iteration on Hessian-vector products against Hessians known in closed form."""
from __future__ import annotations

import pytest
import torch

from harness.engine.hessian import dominant_hessian_eigenvalue


def _symmetric_with_eigenvalues(eigenvalues: list[float], seed: int = 0) -> torch.Tensor:
    """Q diag(λ) Qᵀ with a random orthogonal Q: a matrix whose spectrum we chose."""
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=generator, dtype=torch.float64))
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


def test_quadratic_gives_its_largest_eigenvalue() -> None:
    hessian = _symmetric_with_eigenvalues([5.0, 2.0, -1.0, 0.5, 0.1, 1.5])
    linear = torch.arange(6, dtype=torch.float64)

    def loss(alpha: torch.Tensor) -> torch.Tensor:
        flat = alpha.reshape(-1)
        return 0.5 * flat @ hessian @ flat + linear @ flat

    alpha = torch.randn(2, 3, dtype=torch.float64)  # an (edges, ops) shape like real α
    value = dominant_hessian_eigenvalue(loss, alpha, iterations=40, generator=torch.Generator().manual_seed(1))
    assert value == pytest.approx(5.0, rel=1e-6)
    assert alpha.grad is None and not alpha.requires_grad


def test_dominant_means_largest_magnitude_and_keeps_the_sign() -> None:
    hessian = _symmetric_with_eigenvalues([-6.0, 2.0, 1.0], seed=3)
    value = dominant_hessian_eigenvalue(lambda a: 0.5 * a @ hessian @ a, torch.zeros(3, dtype=torch.float64),
                                        iterations=40, generator=torch.Generator().manual_seed(0))
    assert value == pytest.approx(-6.0, rel=1e-6)


def test_hessian_is_taken_at_the_given_point() -> None:
    # loss = Σ α⁴/4 has Hessian diag(3α²): at α = (1, -2, 0.5) the dominant eigenvalue is 12
    alpha = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    value = dominant_hessian_eigenvalue(lambda a: (a ** 4).sum() / 4, alpha, iterations=30,
                                        generator=torch.Generator().manual_seed(0))
    assert value == pytest.approx(12.0, rel=1e-6)


def test_linear_loss_has_zero_curvature() -> None:
    assert dominant_hessian_eigenvalue(lambda a: (3 * a).sum(), torch.ones(4)) == 0.0

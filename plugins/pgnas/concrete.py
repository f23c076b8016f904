"""Concrete (relaxed Bernoulli) dropout gates and the KL regularizer of PGNAS (Eq. 13–16).

A gate group is one learned drop probability p = σ(θ) shared by K independent gates
(Eq. 13: "the importance of branches from the same kernel size group and layer should
be identical"). Each gate scales one cell ``(edge, op)`` of the supernet's mixing
weights with a keep mask

    z = 1 − σ((log p − log(1 − p) + log u − log(1 − u)) / τ),   u ~ U(0, 1),

which is Eq. 16 (a difference of two Gumbel variables is logistic, so log(−log r₁) −
log(−log r₂) has the law of log u − log(1 − u)) read as the *drop* variable, as in Gal
et al.'s concrete dropout and the PGNAS reference code. Outputs are not rescaled by
1/(1 − p): PGNAS evaluates sampled sub-networks with their weights as they are, so the
training forward must see the same, unscaled masks (the reference code does the same;
Gal's own layer rescales).

The regularizer is the KL term of Eq. 14–15 with the prior u = 0, divided by the
training-set size N because the likelihood term is a per-example mean:

    Σ_g [ l²(1 − p_g) / (2N) · Σ_{M ∈ g} ‖M‖²  −  K_g / N · H(p_g) ],
    H(p) = −p log p − (1 − p) log(1 − p)

(Eq. 15 writes H(p) = Σ k·p·log p with k the input channels; the full Bernoulli entropy
is the one of Gal, Hron & Kendall 2017 and of the reference code's KLreg.)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

LOGIT_EPS = 1e-6
"""Uniform noise is kept inside [ε, 1 − ε] so its logit stays finite."""


@dataclass(frozen=True)
class GateGroup:
    """One drop probability shared by the gates of ``cells``: ``(edge, op)`` entries of the mixing weights."""

    name: str
    cells: tuple[tuple[int, int], ...]


def drop_logit(p: float) -> float:
    """θ with σ(θ) = p."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a drop probability must lie strictly between 0 and 1, got {p}")
    return float(torch.logit(torch.tensor(p, dtype=torch.float64)))


def relaxed_keep_mask(theta: torch.Tensor, temperature: float, shape: Sequence[int],
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Keep masks z of shape ``(*shape, *theta.shape)``: 1 − the relaxed drop variable of Eq. 16.

    ``theta`` holds the drop logits log p − log(1 − p) of the individual gates.
    """
    u = torch.rand(*shape, *theta.shape, generator=generator, device=theta.device, dtype=theta.dtype)
    u = u.clamp(LOGIT_EPS, 1.0 - LOGIT_EPS)
    return 1.0 - torch.sigmoid((theta + torch.log(u) - torch.log1p(-u)) / temperature)


def bernoulli_entropy(p: torch.Tensor) -> torch.Tensor:
    """H(p) = −p log p − (1 − p) log(1 − p), elementwise."""
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1.0 - p, 1.0 - p))


def kl_regularizer(drop: torch.Tensor, kernels: Sequence[Sequence[torch.Tensor]],
                   units: torch.Tensor | Sequence[int], length_scale_sq: float, data_size: int) -> torch.Tensor:
    """Eq. 15's regularizer for gate groups with drop probabilities ``drop`` ``(G,)``.

    ``kernels[g]`` are the weight tensors group g's gates switch on and off (the weight
    term), ``units[g]`` its number K_g of independent gates (the entropy term).
    """
    counts = torch.as_tensor(units, dtype=drop.dtype, device=drop.device)
    if not (len(kernels) == counts.shape[0] == drop.shape[0]):
        raise ValueError(f"{drop.shape[0]} gate groups but {len(kernels)} kernel lists "
                         f"and {counts.shape[0]} unit counts")
    squares = torch.stack([
        torch.stack([m.square().sum() for m in group]).sum() if group else drop.new_zeros(())
        for group in kernels
    ])
    weight_term = length_scale_sq * (1.0 - drop) * squares / (2.0 * data_size)
    entropy_term = counts * bernoulli_entropy(drop) / data_size
    return (weight_term - entropy_term).sum()


def prior_regularizer(params: Sequence[torch.Tensor], length_scale_sq: float, data_size: int) -> torch.Tensor | None:
    """Eq. 15's weight term with p = 0, for weights no gate ever drops (stem, reductions, classifier)."""
    if not params:
        return None
    return length_scale_sq * torch.stack([m.square().sum() for m in params]).sum() / (2.0 * data_size)


class GateLayout:
    """Where each gate's mask goes in the supernet's ``(edges, ops)`` mixing weights.

    Gates are numbered group by group. ``complement_op`` is for binary spaces (ops
    ``drop``/``keep``): that op's weight is 1 − the edge's keep mask, so a row reads
    ``[drop, keep]``. Cells no gate covers get weight 0.
    """

    def __init__(self, groups: Sequence[GateGroup], num_edges: int, num_ops: int,
                 complement_op: int | None = None) -> None:
        self.groups = tuple(groups)
        self.num_edges = num_edges
        self.num_ops = num_ops
        self.complement_op = complement_op
        cells = [cell for group in self.groups for cell in group.cells]
        if len(set(cells)) != len(cells):
            raise ValueError("a mixing-weight cell belongs to more than one gate group")
        self.units = torch.tensor([len(group.cells) for group in self.groups])
        self.unit_group = torch.repeat_interleave(torch.arange(len(self.groups)), self.units)
        self.unit_edge = torch.tensor([edge for edge, _ in cells], dtype=torch.long)
        self.unit_op = torch.tensor([op for _, op in cells], dtype=torch.long)

    @property
    def num_units(self) -> int:
        return int(self.unit_edge.shape[0])

    def to(self, device: torch.device) -> GateLayout:
        for name in ("units", "unit_group", "unit_edge", "unit_op"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def weights(self, keep: torch.Tensor) -> torch.Tensor:
        """Mixing weights ``(..., edges, ops)`` from per-gate keep values ``(..., units)``."""
        out = keep.new_zeros(*keep.shape[:-1], self.num_edges, self.num_ops)
        out[..., self.unit_edge, self.unit_op] = keep
        if self.complement_op is not None:
            out[..., self.unit_edge, self.complement_op] = 1.0 - keep
        return out

    def scores(self, keep_log: torch.Tensor, drop_log: torch.Tensor) -> torch.Tensor:
        """Per edge-op scores: log keep-probability of each gate (and log drop-probability in the complement)."""
        out = torch.full((self.num_edges, self.num_ops), float("-inf"), device=keep_log.device, dtype=keep_log.dtype)
        out[self.unit_edge, self.unit_op] = keep_log
        if self.complement_op is not None:
            out[self.unit_edge, self.complement_op] = drop_log
        return out

"""DARTS cells: the search cell that mixes every candidate op on each of its 14 edges, and
the evaluation cell of one genotype (two ops per node, drop-path).

Followed: quark0/darts ``cnn/model_search.py`` (``MixedOp``, ``Cell``) and ``cnn/model.py``
(``Cell``). Both cells first bring their two inputs to ``C`` channels at the cell's input
resolution (``preprocess0``: a ``FactorizedReduce`` when the previous cell reduced, else
ReLU-Conv1×1-BN; ``preprocess1``: ReLU-Conv1×1-BN); a reduction cell's edges from the two
inputs have stride 2. The output concatenates the four intermediate nodes (4C channels).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from plugins.darts_space.genotype import CELL_EDGES, CONCAT, INPUTS_PER_NODE, STEPS, Gene
from plugins.darts_space.ops import NONE, FactorizedReduce, ReLUConvBN, build_op


class Preprocess(nn.Module):
    """The cell's two inputs at ``C`` channels and the same resolution."""

    def __init__(self, c_prev_prev: int, c_prev: int, c: int, reduction_prev: bool, affine: bool) -> None:
        super().__init__()
        self.preprocess0: nn.Module = (FactorizedReduce(c_prev_prev, c, affine) if reduction_prev
                                       else ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine))
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0, affine)

    def inputs(self, s0: torch.Tensor, s1: torch.Tensor) -> list[torch.Tensor]:
        return [self.preprocess0(s0), self.preprocess1(s1)]


class MixedEdge(nn.ModuleDict):
    """Σ_o w[o]·op_o(x) over the edge's candidate ops that have a module (``none`` adds nothing)."""

    def __init__(self, channels: int, stride: int, op_names: Sequence[str], candidates: Sequence[int],
                 affine: bool) -> None:
        super().__init__({op_names[o]: build_op(op_names[o], channels, stride, affine, search=True)
                          for o in candidates if op_names[o] != NONE})
        self.op_indices = [op_names.index(name) for name in self.keys()]

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[bool] | None) -> torch.Tensor | None:
        """``weights`` ``(ops,)`` or ``(batch, ops)``; ``active[o]`` False skips op o (its weight is 0)."""
        total = None
        for index, op in zip(self.op_indices, self.values()):
            if active is not None and not active[index]:
                continue
            weight = weights[..., index]
            out = op(x) * (weight.view(-1, 1, 1, 1) if weight.dim() == 1 else weight)
            total = out if total is None else total + out
        return total


class SearchCell(nn.Module):
    """One mixed edge per (node, input) pair; node i = Σ_j mixed_edge(state j)."""

    def __init__(self, c_prev_prev: int, c_prev: int, c: int, reduction: bool, reduction_prev: bool,
                 op_names: Sequence[str], candidates: Sequence[Sequence[int]], affine: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre = Preprocess(c_prev_prev, c_prev, c, reduction_prev, affine)
        self.edges = nn.ModuleList(
            MixedEdge(c, 2 if reduction and source < 2 else 1, op_names, candidates[e], affine)
            for e, (_, source) in enumerate(CELL_EDGES))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                active: list[list[bool]] | None) -> torch.Tensor:
        """``weights`` ``(14, ops)`` or ``(batch, 14, ops)``; ``active`` per edge and op, or None for all."""
        states = self.pre.inputs(s0, s1)
        stride = 2 if self.reduction else 1
        edge = 0
        for _ in range(STEPS):
            total = None
            for h in list(states):
                out = self.edges[edge](h, weights[..., edge, :], None if active is None else active[edge])
                edge += 1
                if out is not None:
                    total = out if total is None else total + out
            # a node all of whose inputs add nothing is zero, as with the reference's Zero op
            states.append(torch.zeros_like(states[1][:, :, ::stride, ::stride]) if total is None else total)
        return torch.cat(states[-STEPS:], dim=1)


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole examples of a branch with probability ``drop_prob``, rescaling the rest (DARTS ``utils.py``)."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class GenotypeCell(nn.Module):
    """The evaluation cell: node i = op_a(state a) + op_b(state b), ops affine, drop-path on non-identity ops."""

    def __init__(self, gene: Gene, c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool, affine: bool = True) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre = Preprocess(c_prev_prev, c_prev, c, reduction_prev, affine)
        self.sources = [source for _, source in gene]
        self.ops = nn.ModuleList(build_op(name, c, 2 if reduction and source < 2 else 1, affine, search=False)
                                 for name, source in gene)
        self.drop_prob = 0.0

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = self.pre.inputs(s0, s1)
        for node in range(STEPS):
            total = None
            for k in range(INPUTS_PER_NODE):
                index = INPUTS_PER_NODE * node + k
                op = self.ops[index]
                h = op(states[self.sources[index]])
                if self.training and self.drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, self.drop_prob)
                total = h if total is None else total + h
            assert total is not None
            states.append(total)
        return torch.cat([states[i] for i in CONCAT], dim=1)

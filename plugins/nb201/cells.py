"""NB201 cells: node 0 is the input, node i = Σ_{j<i} op_{i←j}(node j), node 3 is the output.

The supernet's cell mixes every op on every edge; the discrete cell keeps the chosen op.
Both name their modules ``edges.<edge index>.<op name>``, so a discrete network's state
dict is a subset of the supernet's (same affine setting) and can inherit its weights.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from plugins.nb201.encoding import EDGES, NONE, NUM_NODES, OP_NAMES
from plugins.nb201.ops import build_op

EdgeOutput = Callable[[int, torch.Tensor], "torch.Tensor | None"]


def run_cell(x: torch.Tensor, edge_output: EdgeOutput) -> torch.Tensor:
    """Evaluate the DAG; ``edge_output(edge, node)`` returns ``None`` for an edge that adds nothing.

    A node none of whose edges adds anything is the zero tensor, as with the reference's
    zero op; ops reading from it still run (their BatchNorm may add a bias).
    """
    nodes = [x]
    edge = 0
    for i in range(1, NUM_NODES):
        total = None
        for j in range(i):
            out = edge_output(edge, nodes[j])
            edge += 1
            if out is not None:
                total = out if total is None else total + out
        nodes.append(torch.zeros_like(x) if total is None else total)
    return nodes[-1]


class MixedEdge(nn.ModuleDict):
    """Every op with a module (all but ``none``), weighted: Σ_o w[o]·op_o(x)."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__({name: build_op(name, channels, affine, track_running_stats)
                          for name in OP_NAMES if name != NONE})
        self.op_indices = [OP_NAMES.index(name) for name in self.keys()]

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[bool] | None) -> torch.Tensor | None:
        """``weights`` is ``(num_ops,)`` or per example ``(batch, num_ops)``; ``active[o]`` False skips op o."""
        total = None
        for index, op in zip(self.op_indices, self.values()):
            if active is not None and not active[index]:
                continue
            weight = weights[..., index]
            if weight.dim() == 1:
                weight = weight.view(-1, 1, 1, 1)
            out = op(x) * weight
            total = out if total is None else total + out
        return total


class MixedCell(nn.Module):
    """The supernet cell: one ``MixedEdge`` per edge."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels, affine, track_running_stats) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[list[bool]] | None) -> torch.Tensor:
        """``weights`` ``(edges, ops)`` or ``(batch, edges, ops)``; ``active`` per edge-op, or None for all."""
        return run_cell(x, lambda e, node: self.edges[e](node, weights[..., e, :],
                                                          None if active is None else active[e]))


class DiscreteCell(nn.Module):
    """The cell of one architecture: the chosen op per edge; ``none`` edges are left out."""

    def __init__(self, arch: tuple[int, ...], channels: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({
            str(e): nn.ModuleDict({OP_NAMES[op]: build_op(OP_NAMES[op], channels, affine, track_running_stats)})
            for e, op in enumerate(arch) if OP_NAMES[op] != NONE
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_cell(x, self._edge_output)

    def _edge_output(self, edge: int, node: torch.Tensor) -> torch.Tensor | None:
        key = str(edge)
        if key not in self.edges:
            return None
        (op,) = self.edges[key].children()  # the edge's one op (a ModuleDict's children are its values)
        return op(node)

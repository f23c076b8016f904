"""NB201's macro skeleton around the cells, as a supernet and as a discrete network.

stem Conv3×3 + BN → N cells at C → residual reduction to 2C → N cells → reduction to 4C
→ N cells → BN → ReLU → global average pool → linear.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from harness import Supernet
from plugins.nb201.cells import DiscreteCell, MixedCell
from plugins.nb201.encoding import EDGES, OP_NAMES
from plugins.nb201.fused import FusedMixedCell
from plugins.nb201.ops import ResNetBasicBlock


def build_macro(in_channels: int, num_classes: int, C: int, N: int,
                make_cell: Callable[[int], nn.Module]) -> tuple[nn.Sequential, nn.ModuleList, nn.Sequential]:
    """(stem, cells and reductions in order, head); ``make_cell(width)`` builds one cell."""
    stem = nn.Sequential(nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
    layers: list[nn.Module] = []
    width = C
    for stage_width in (C, 2 * C, 4 * C):
        if stage_width != width:
            layers.append(ResNetBasicBlock(width, stage_width))
            width = stage_width
        layers.extend(make_cell(width) for _ in range(N))
    head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(width, num_classes))
    return stem, nn.ModuleList(layers), head


CELLS: dict[str, type[nn.Module]] = {"fused": FusedMixedCell, "per_op": MixedCell}
"""Supernet cell implementations: ``fused`` shares work between the ops reading one node;
``per_op`` runs every op module by itself (the reference-style cell, kept as the oracle)."""


class NB201Supernet(Supernet):
    """Every cell mixes all ops with the shared ``(edges, ops)`` or per-example ``(batch, edges, ops)`` weights.

    With 2-D weights an op whose weight is exactly zero counts for nothing: the output is
    the same, but that weight then gets no gradient and that op's BatchNorm statistics do
    not move. The ``per_op`` cell skips such ops (one device→host sync per forward reads
    which); the ``fused`` cell computes them and masks on the device.
    """

    def __init__(self, in_channels: int, num_classes: int, C: int, N: int, affine: bool,
                 track_running_stats: bool, cell: str = "fused") -> None:
        super().__init__()
        self.cell_kind = cell
        make = CELLS[cell]
        self.stem, self.cells, self.head = build_macro(
            in_channels, num_classes, C, N, lambda width: make(width, affine, track_running_stats))

    stackable = True

    @property
    def stacked(self) -> bool:
        """Stacked (run under vmap over seeds), the cells compute every op, zero weights
        included: the zero pattern is read on the host (per-op cell) or masks the running
        statistics' update (fused cell), neither of which vmaps. The search's mixing weights
        are never exactly zero, so this changes nothing there."""
        return bool(getattr(self, "_stacked", False))

    @stacked.setter
    def stacked(self, value: bool) -> None:
        self._stacked = value
        for layer in self.cells:
            if isinstance(layer, FusedMixedCell):
                layer.vmapped = value

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        self._check_weights(x, weights)
        mask: torch.Tensor | list[list[bool]] | None = None
        if weights.dim() == 2 and not self.stacked:
            mask = weights != 0 if self.cell_kind == "fused" else (weights != 0).tolist()
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h, weights, mask) if isinstance(layer, MixedCell) else layer(h)
        return self.head(h)

    @staticmethod
    def _check_weights(x: torch.Tensor, weights: torch.Tensor) -> None:
        shape = (len(EDGES), len(OP_NAMES))
        per_example = weights.dim() == 3 and weights.shape[0] == x.shape[0]
        if tuple(weights.shape[-2:]) != shape or not (weights.dim() == 2 or per_example):
            raise ValueError(f"NB201 supernet weights must be {shape} or (batch={x.shape[0]}, *{shape}); "
                             f"got {tuple(weights.shape)}")


class NB201Network(nn.Module):
    """The stand-alone network of one architecture (all BatchNorms affine by default, as in NB201)."""

    def __init__(self, arch: tuple[int, ...], in_channels: int, num_classes: int, C: int, N: int,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.arch = tuple(arch)
        self.stem, self.cells, self.head = build_macro(
            in_channels, num_classes, C, N, lambda width: DiscreteCell(self.arch, width, affine, track_running_stats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h)
        return self.head(h)

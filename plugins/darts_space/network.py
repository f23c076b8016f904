"""The DARTS CIFAR skeleton around the cells, as a search supernet and as an evaluation network.

Followed: quark0/darts ``cnn/model_search.py`` (``Network``) and ``cnn/model.py``
(``NetworkCIFAR``, ``AuxiliaryHeadCIFAR``). Stem: Conv3×3 to 3C channels + BN. Then
``layers`` cells; those at ``layers // 3`` and ``2 * layers // 3`` are reduction cells
that double the channels and halve the resolution. Each cell reads the outputs of the
two cells before it. Global average pool and a linear classifier close the network. The
evaluation network may attach the auxiliary classifier after cell ``2 * layers // 3``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from harness import Supernet
from plugins.darts_space.cells import GenotypeCell, SearchCell
from plugins.darts_space.genotype import EDGES_PER_CELL, STEPS, Genotype

STEM_MULTIPLIER = 3
CellFactory = Callable[[int, int, int, bool, bool], nn.Module]


def reduction_layers(layers: int) -> tuple[int, int]:
    return layers // 3, 2 * layers // 3


def build_cells(in_channels: int, C: int, layers: int, make_cell: CellFactory) -> tuple[nn.Sequential, nn.ModuleList, list[int]]:
    """(stem, cells, output channels of each cell); ``make_cell(c_pp, c_p, c, reduction, reduction_prev)``."""
    c_curr = STEM_MULTIPLIER * C
    stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
    c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
    cells = nn.ModuleList()
    widths = []
    reduction_prev = False
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            c_curr *= 2
        cells.append(make_cell(c_prev_prev, c_prev, c_curr, reduction, reduction_prev))
        reduction_prev = reduction
        c_prev_prev, c_prev = c_prev, STEPS * c_curr
        widths.append(c_prev)
    return stem, cells, widths


class DartsSupernet(Supernet):
    """The search network; ``weights`` is ``(28, ops)`` (normal edges, then reduction edges) or per example
    ``(batch, 28, ops)``. With 2-D weights an op whose weight is exactly 0 is not computed."""

    def __init__(self, in_channels: int, num_classes: int, C: int, layers: int, op_names: Sequence[str],
                 candidates: Sequence[Sequence[int]], affine: bool = False) -> None:
        super().__init__()
        self.num_ops = len(op_names)

        def make_cell(c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> nn.Module:
            offset = EDGES_PER_CELL if reduction else 0
            return SearchCell(c_pp, c_p, c, reduction, reduction_prev, op_names,
                              candidates[offset:offset + EDGES_PER_CELL], affine)

        self.stem, self.cells, widths = build_cells(in_channels, C, layers, make_cell)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        shape = (2 * EDGES_PER_CELL, self.num_ops)
        if tuple(weights.shape[-2:]) != shape or not (weights.dim() == 2 or
                                                      (weights.dim() == 3 and weights.shape[0] == x.shape[0])):
            raise ValueError(f"DARTS supernet weights must be {shape} or (batch={x.shape[0]}, *{shape}); "
                             f"got {tuple(weights.shape)}")
        active = (weights != 0).tolist() if weights.dim() == 2 else None
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            cut = slice(EDGES_PER_CELL, None) if cell.reduction else slice(0, EDGES_PER_CELL)
            s0, s1 = s1, cell(s0, s1, weights[..., cut, :], None if active is None else active[cut])
        return self.classifier(self.global_pooling(s1).flatten(1))


class AuxiliaryHead(nn.Sequential):
    """DARTS' auxiliary CIFAR classifier; it assumes 8×8 features (32×32 images)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
                         nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
                         nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
                         nn.Flatten(), nn.Linear(768, num_classes))


class GenotypeNetwork(nn.Module):
    """The evaluation network of one genotype (``NetworkCIFAR``): ``forward(x)`` gives the logits,
    ``forward_with_aux(x)`` also the auxiliary logits (None unless training with the head)."""

    def __init__(self, genotype: Genotype, in_channels: int, num_classes: int, C: int, layers: int,
                 auxiliary: bool = False) -> None:
        super().__init__()
        self.genotype = genotype

        def make_cell(c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> nn.Module:
            return GenotypeCell(genotype.gene(reduction), c_pp, c_p, c, reduction, reduction_prev)

        self.stem, self.cells, widths = build_cells(in_channels, C, layers, make_cell)
        self.aux_after = reduction_layers(layers)[1]
        self.auxiliary_head = AuxiliaryHead(widths[self.aux_after], num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(widths[-1], num_classes)

    def set_drop_path(self, prob: float) -> None:
        for cell in self.cells:
            assert isinstance(cell, GenotypeCell)
            cell.drop_prob = prob

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_after and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


def parameter_count(network: nn.Module) -> int:
    """Parameters without the auxiliary head, as DARTS' ``count_parameters_in_MB`` counts them."""
    return sum(p.numel() for name, p in network.named_parameters() if "auxiliary" not in name)

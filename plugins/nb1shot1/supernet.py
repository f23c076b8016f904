"""The NAS-Bench-1Shot1 one-shot model (automl/nasbench-1shot1 ``optimizers/darts/model_search.py``).

stem 3×3 conv-BN-ReLU (C) → ``layers`` cells, with a 2×2 max-pool (padding 1) and doubled
channels before cells ``layers//3`` and ``2·layers//3`` → 1×1 ReLU-conv-BN (not affine)
to C_last → global average pool → linear. A cell has one 1×1 conv-BN-ReLU projection of
its input per choice block and one to ``steps·C`` for the input→output edge; choice
block i sums its (weighted) candidate inputs — the projected cell input and all earlier
blocks — and applies the mixed op; the output is ``w_out[0]·proj(input) +
concat(w_out[i]·block_i)``. BatchNorm momentum 0.997 and eps 1e-5 as in the reference
(its ``operations.py`` copies NB101's TF decay into PyTorch's ``momentum`` literally).

The shared weights arrive as the optimizer's ``(rows, width)`` (or per-example
``(batch, rows, width)``) tensor, each row a softmax over its valid entries (the space's
``logit_mask``), i.e. the reference's softmax over that row. They are used as given, padding
zeroed: like the reference, the supernet does not renormalize a row, so a discretized row
(one-hot op, 0/1 parents) is the reference's ``discrete=True`` forward and an entry set to 0
(PT's perturbation) is removed without the others making up for it.
"""
from __future__ import annotations

import torch
from torch import nn

from harness import Supernet
from plugins.nb1shot1.layout import PRIMITIVES, Layout

BN_MOMENTUM = 0.997
BN_EPS = 1e-5


class ConvBnRelu(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM, eps=BN_EPS), nn.ReLU(inplace=False))


def build_op(name: str, channels: int) -> nn.Module:
    if name == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    if name == "conv3x3-bn-relu":
        return ConvBnRelu(channels, channels, 3)
    return ConvBnRelu(channels, channels, 1)


class MixedOp(nn.ModuleList):
    def __init__(self, channels: int) -> None:
        super().__init__(build_op(name, channels) for name in PRIMITIVES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[bool] | None) -> torch.Tensor:
        """The weighted sum of the active ops; zeros of ``x``'s shape when a row keeps none (a PGNAS gate
        pattern may drop every op of a block), since every op keeps its input's shape."""
        total = torch.zeros_like(x)
        for index, op in enumerate(self):
            if active is not None and not active[index]:
                continue
            total = total + _scale(weights[..., index], op(x))
        return total


def _scale(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``weight`` (scalar, or one per example) times ``x``."""
    return x * (weight.view(-1, 1, 1, 1) if weight.dim() == 1 else weight)


class Cell(nn.Module):
    def __init__(self, layout: Layout, c_in: int, channels: int) -> None:
        super().__init__()
        self.layout = layout
        steps = layout.steps
        self.projections = nn.ModuleList(ConvBnRelu(c_in, channels, 1) for _ in range(steps))
        self.output_projection = ConvBnRelu(c_in, channels * steps, 1)
        self.blocks = nn.ModuleList(MixedOp(channels) for _ in range(steps))
        self.input_rows = {row.node: index for index, row in enumerate(layout.rows) if row.name.startswith("in")}
        self.output_row = next(index for index, row in enumerate(layout.rows) if row.name == "out")

    def forward(self, s0: torch.Tensor, weights: torch.Tensor, active: list[list[bool]] | None) -> torch.Tensor:
        states: list[torch.Tensor] = []
        for block in range(self.layout.steps):
            node = block + 1
            inputs = [self.projections[block](s0), *states]
            row = self.input_rows.get(node)
            if row is None:
                summed = sum(inputs[1:], inputs[0])
            else:
                summed = sum((_scale(weights[..., row, j], t) for j, t in enumerate(inputs)),
                             torch.zeros((), device=s0.device))
            states.append(self.blocks[block](summed, weights[..., block, :], None if active is None else active[block]))
        out_w = weights[..., self.output_row, :]
        concat = torch.cat([_scale(out_w[..., j + 1], state) for j, state in enumerate(states)], dim=1)
        return _scale(out_w[..., 0], self.output_projection(s0)) + concat


class NB1Shot1Supernet(Supernet):
    """The one-shot model of one NAS-Bench-1Shot1 space."""

    def __init__(self, layout: Layout, in_channels: int, num_classes: int, C: int, layers: int) -> None:
        super().__init__()
        self.layout = layout
        self.layers = layers
        self.stem = ConvBnRelu(in_channels, C, 3)
        self.downsample_before = {layers // 3, 2 * layers // 3}
        cells, channels, previous = [], C, C
        for i in range(layers):
            if i in self.downsample_before:
                channels *= 2
            c_in = previous if i == 0 else previous * layout.steps
            cells.append(Cell(layout, c_in, channels))
            previous = channels
        self.cells = nn.ModuleList(cells)
        self.postprocess = nn.Sequential(nn.ReLU(inplace=False),
                                         nn.Conv2d(previous * layout.steps, previous, 1, bias=False),
                                         nn.BatchNorm2d(previous, affine=False))
        self.classifier = nn.Linear(previous, num_classes)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, padding=1)
        mask = torch.zeros(len(layout.rows), layout.width)
        for index, row in enumerate(layout.rows):
            mask[index, :row.candidates] = 1.0
        self.mask: torch.Tensor
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        shape = tuple(self.mask.shape)
        if tuple(weights.shape[-2:]) != shape or weights.dim() not in (2, 3):
            raise ValueError(f"NB1Shot1 supernet weights must be {shape} or (batch, *{shape}); got {tuple(weights.shape)}")
        weights = weights * self.mask
        active = (weights != 0).tolist() if weights.dim() == 2 else None
        s0 = self.stem(x)
        for i, cell in enumerate(self.cells):
            if i in self.downsample_before:
                s0 = self.pool(s0)
            s0 = cell(s0, weights, active)
        s0 = self.postprocess(s0)
        return self.classifier(s0.mean(dim=(2, 3)))

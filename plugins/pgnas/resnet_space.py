"""PGNAS's own setting: a small multi-branch ResNet supernet with channel-level gates (SupNet-M-like).

Three stages of one pre-activation block each (widths 16, 32, 64; stride 2 into stages
2 and 3). A block is BN → ReLU, then a shortcut (identity, or a strided 1×1 conv) plus
three parallel branch convs — 3×3, 5×5 and 1×1 — each reading the block's activated
input. PGNAS's gates switch the *input channels* of every branch conv on and off (the
kernel slices w_{l,k}^s of §2, one drop probability per layer and kernel size, Eq. 13);
a branch whose channels are all dropped is dropped (operation level, Table 7).

Harness contract: every gated input channel is an edge (``s1b1-conv3x3/c0`` …, 192 in
all) with ops ``drop``/``keep``. An architecture is the set of kept channels, so the
PGNAS result (architecture *and* weights) is a sub-network of the supernet, and
``build_network`` builds exactly that pruned network. The edges must be fixed when the
space is created, hence the fixed widths (space options ``C`` = 16, ``N`` = 1 only).
``gate_groups`` tells the ``pgnas`` optimizer which edges share a drop probability (a
branch's channels) and ``edge_blocks`` which edges must keep at least one member (a
block). No branch is followed by a BatchNorm, so a dropped channel or branch adds
exactly zero, in the supernet as in the pruned network.

Architecture string: per block ``|m0|m1|m2|`` with each branch's kept-channel mask in
hex (bit k = channel k), blocks joined by ``+``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

import numpy as np
import torch
from torch import nn

from harness import Architecture, DatasetInfo, SearchSpace, Supernet, UserError
from plugins.pgnas.concrete import GateGroup
from plugins.pgnas.options import WIDTHS, ResNetSpaceOptions

BRANCHES: tuple[tuple[str, int], ...] = (("conv3x3", 3), ("conv5x5", 5), ("conv1x1", 1))
OPTION_DEFAULTS = {"C": WIDTHS[0], "N": 1}


DROP, KEEP = 0, 1


def block_shapes() -> list[tuple[int, int, int]]:
    """(input channels, output channels, stride) of each block."""
    shapes, width = [], WIDTHS[0]
    for stage, out in enumerate(WIDTHS):
        shapes.append((width, out, 1 if stage == 0 else 2))
        width = out
    return shapes


def block_names() -> list[str]:
    return [f"s{stage + 1}b1" for stage in range(len(WIDTHS))]


class MultiBranchBlock(nn.Module):
    """Pre-activation block: x (or a strided 1×1 conv of h) + Σ_branches conv_b(h[:, kept_b]), h = ReLU(BN(x)).

    ``kept`` lists each branch's input channels (a pruned network); None keeps all (the
    supernet, whose ``forward`` then takes per-branch channel masks). A branch with no
    channel has no conv.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, kept: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__()
        self.pre = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU())
        self.shortcut = (None if stride == 1 and c_in == c_out
                         else nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))
        self.branches = nn.ModuleDict()
        self.index_buffers: dict[str, str | None] = {}  # branch -> buffer of its kept channels (None: all)
        for position, (name, kernel) in enumerate(BRANCHES):
            channels = list(range(c_in)) if kept is None else list(kept[position])
            if not channels:
                continue
            self.branches[name] = nn.Conv2d(len(channels), c_out, kernel, stride=stride, padding=kernel // 2,
                                            bias=False)
            self.index_buffers[name] = None
            if len(channels) < c_in:
                self.index_buffers[name] = f"index_{name}"
                self.register_buffer(f"index_{name}", torch.tensor(channels, dtype=torch.long))

    def forward(self, x: torch.Tensor, masks: dict[str, torch.Tensor | None] | None = None) -> torch.Tensor:
        """``masks[branch]``: keep values broadcastable to the branch input, or None to skip the branch."""
        h = self.pre(x)
        out = x if self.shortcut is None else self.shortcut(h)
        for name, conv in self.branches.items():
            buffer = self.index_buffers[name]
            branch_input = h if buffer is None else h.index_select(1, getattr(self, buffer))
            if masks is not None:
                if masks[name] is None:
                    continue
                branch_input = branch_input * masks[name]
            out = out + conv(branch_input)
        return out


def _stem(in_channels: int) -> nn.Module:
    return nn.Conv2d(in_channels, WIDTHS[0], 3, padding=1, bias=False)


def _head(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(WIDTHS[-1]), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(WIDTHS[-1], num_classes))


class MultiBranchSupernet(Supernet):
    """All channels of all branches, scaled by the ``keep`` column of ``(edges, 2)`` or ``(batch, edges, 2)`` weights.

    With 2-D weights a branch whose keep weights are all exactly zero is not computed.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = _stem(in_channels)
        self.blocks = nn.ModuleList(MultiBranchBlock(c_in, c_out, stride) for c_in, c_out, stride in block_shapes())
        self.head = _head(num_classes)
        self.branch_width = [c_in for c_in, _, _ in block_shapes() for _ in BRANCHES]
        self.num_edges = sum(self.branch_width)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        per_example = weights.dim() == 3 and weights.shape[0] == x.shape[0]
        if tuple(weights.shape[-2:]) != (self.num_edges, 2) or not (weights.dim() == 2 or per_example):
            raise ValueError(f"pgnas-resnet supernet weights must be ({self.num_edges}, 2) or "
                             f"(batch={x.shape[0]}, {self.num_edges}, 2); got {tuple(weights.shape)}")
        keep = weights[..., KEEP]
        chunks = torch.split(keep, self.branch_width, dim=-1)
        active = [bool(a) for a in torch.stack([c.ne(0).any() for c in chunks]).tolist()] if not per_example else None
        h = self.stem(x)
        for b, block in enumerate(self.blocks):
            masks = {}
            for position, (name, _) in enumerate(BRANCHES):
                branch = b * len(BRANCHES) + position
                chunk = chunks[branch]
                skip = active is not None and not active[branch]
                masks[name] = None if skip else chunk.reshape(-1, chunk.shape[-1], 1, 1)
            h = block(h, masks)
        return self.head(h)


class MultiBranchNetwork(nn.Module):
    """The pruned network of one architecture: each branch conv reads only its kept input channels."""

    def __init__(self, kept: Sequence[Sequence[Sequence[int]]], in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = _stem(in_channels)
        self.blocks = nn.ModuleList(MultiBranchBlock(c_in, c_out, stride, block_kept)
                                    for (c_in, c_out, stride), block_kept in zip(block_shapes(), kept))
        self.head = _head(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


class MultiBranchResNetSpace(SearchSpace):
    """The channel-level ``pgnas-resnet`` space (see the module docstring)."""

    name = "pgnas-resnet"
    op_names = ("drop", "keep")
    Options = ResNetSpaceOptions

    def __init__(self) -> None:
        edges: list[str] = []
        groups: list[GateGroup] = []
        blocks: list[tuple[int, ...]] = []
        for block, (c_in, _, _) in zip(block_names(), block_shapes()):
            block_edges: list[int] = []
            for branch, _ in BRANCHES:
                first = len(edges)
                edges.extend(f"{block}-{branch}/c{k}" for k in range(c_in))
                groups.append(GateGroup(f"{block}-{branch}", tuple((e, KEEP) for e in range(first, len(edges)))))
                block_edges.extend(range(first, len(edges)))
            blocks.append(tuple(block_edges))
        self.edge_names = tuple(edges)
        self.gate_groups = tuple(groups)
        self.edge_blocks = tuple(blocks)

    def build_supernet(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> MultiBranchSupernet:
        self._check_options(options)
        return MultiBranchSupernet(dataset.channels, dataset.num_classes)

    def build_network(self, arch: Architecture, dataset: DatasetInfo,
                      options: Mapping[str, Any] | None) -> MultiBranchNetwork:
        self._check_options(options)
        return MultiBranchNetwork(self.kept_channels(self._checked(arch)), dataset.channels, dataset.num_classes)

    def kept_channels(self, arch: Architecture) -> list[list[list[int]]]:
        """Per block, per branch, the kept input channels."""
        kept = []
        for block in range(len(WIDTHS)):
            branches = []
            for position in range(len(BRANCHES)):
                group = self.gate_groups[block * len(BRANCHES) + position]
                branches.append([k for k, (edge, _) in enumerate(group.cells) if arch[edge] == KEEP])
            kept.append(branches)
        return kept

    def architecture_stats(self, arch: Architecture) -> dict[str, float]:
        """Table 7's proportions of dropped channels and of dropped operations (branches)."""
        kept = [branch for block in self.kept_channels(arch) for branch in block]
        return {"dropped_channels": 1.0 - sum(arch) / len(arch),
                "dropped_branches": sum(1 for branch in kept if not branch) / len(kept)}

    def parse(self, text: str) -> Architecture:
        groups = text.strip().split("+")
        if len(groups) != len(WIDTHS):
            raise self._bad(text, f"{len(groups)} block(s) separated by '+', need {len(WIDTHS)}")
        arch: list[int] = []
        for block, group in zip(block_names(), groups):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise self._bad(text, f"block {block} '{group}' must start and end with '|'")
            masks = group[1:-1].split("|")
            if len(masks) != len(BRANCHES):
                raise self._bad(text, f"block {block} has {len(masks)} branch mask(s), need {len(BRANCHES)}")
            for (branch, _), mask in zip(BRANCHES, masks):
                group_cells = self._group(block, branch).cells
                digits = len(group_cells) // 4
                try:
                    value = int(mask, 16)
                except ValueError:
                    value = -1
                if len(mask) != digits or value < 0:
                    raise self._bad(text, f"{block}-{branch} mask '{mask}' must be {digits} hex digits")
                arch.extend((value >> k) & 1 for k in range(len(group_cells)))
        return self._checked(tuple(arch))

    def format(self, arch: Architecture) -> str:
        arch = self._checked(arch)
        blocks = []
        for block in range(len(WIDTHS)):
            masks = []
            for position in range(len(BRANCHES)):
                cells = self.gate_groups[block * len(BRANCHES) + position].cells
                value = sum(arch[edge] << k for k, (edge, _) in enumerate(cells))
                masks.append(f"{value:0{len(cells) // 4}x}")
            blocks.append("|" + "|".join(masks) + "|")
        return "+".join(blocks)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Uniform over valid architectures: uniform channel bits, each block redrawn until it keeps one."""
        arch = [0] * self.num_edges
        for block in self.edge_blocks:
            bits = rng.integers(0, 2, size=len(block))
            while not bits.any():
                bits = rng.integers(0, 2, size=len(block))
            for edge, bit in zip(block, bits):
                arch[edge] = int(bit)
        return tuple(arch)

    def size(self) -> int:
        return prod(2 ** len(block) - 1 for block in self.edge_blocks)

    def argmax(self, scores: torch.Tensor) -> Architecture:
        """Keep a channel where ``keep`` outscores ``drop``; a block left empty keeps its best branch whole."""
        scores = scores.detach().reshape(self.num_edges, 2).float().cpu()
        margin = scores[:, KEEP] - scores[:, DROP]
        arch = (margin > 0).long().tolist()
        for block in range(len(WIDTHS)):
            groups = self.gate_groups[block * len(BRANCHES):(block + 1) * len(BRANCHES)]
            if any(arch[edge] for group in groups for edge, _ in group.cells):
                continue
            best = max(groups, key=lambda group: float(margin[[edge for edge, _ in group.cells]].mean()))
            for edge, _ in best.cells:
                arch[edge] = KEEP
        return tuple(arch)

    def _group(self, block: str, branch: str) -> GateGroup:
        return next(group for group in self.gate_groups if group.name == f"{block}-{branch}")

    def _checked(self, arch: Architecture) -> Architecture:
        values = tuple(arch)
        if len(values) != self.num_edges or any(v not in (DROP, KEEP) or isinstance(v, bool) for v in values):
            raise UserError(f"pgnas-resnet architecture must be {self.num_edges} values 0 (drop) or 1 (keep), "
                            f"one per gated channel")
        for name, block in zip(block_names(), self.edge_blocks):
            if not any(values[edge] for edge in block):
                raise UserError(f"pgnas-resnet architecture drops every channel of block {name}; "
                                "a block must keep at least one branch channel")
        return tuple(int(v) for v in values)

    @staticmethod
    def _bad(text: str, problem: str) -> UserError:
        return UserError(f"bad pgnas-resnet architecture {text.strip()!r}: {problem}; expected "
                         "|m|m|m|+|m|m|m|+|m|m|m| with one hex channel mask per branch (conv3x3, conv5x5, conv1x1)")

    def _check_options(self, options: Mapping[str, Any] | None) -> None:
        chosen = self.options(options).model_dump()
        for key, fixed in OPTION_DEFAULTS.items():
            if chosen[key] != fixed:
                raise UserError(f"pgnas-resnet has a fixed shape (widths {'/'.join(map(str, WIDTHS))}, one block per "
                                f"stage; its edges are its channels): space option {key} must be {fixed}, "
                                f"got {chosen[key]!r}")

"""RobustDARTS' spaces S1–S4 (Zela et al., ICLR 2020): the DARTS space with other ops per edge.

The per-edge op lists are those of automl/RobustDARTS ``src/spaces.py`` (``primitives_1`` …
``primitives_4``; ruocwang/darts-pt ``sota/cnn/spaces.py`` copies them): S1 offers two ops
per edge, different on every edge of the normal and the reduction cell (the two strongest of
a DARTS search); S2 {skip_connect, sep_conv_3x3}; S3 {none, skip_connect, sep_conv_3x3};
S4 {noise, sep_conv_3x3}, ``noise`` being standard normal noise.

Everything else is the DARTS space. ``op_names`` is ``none`` plus the ops the space offers;
``none`` marks the edges a node drops (it is a searchable op only in S3), and each edge's
softmax runs over its own list only (``candidate_ops``), as the reference's (14, k) α do.
"""
from __future__ import annotations

from harness import Architecture, UserError
from plugins.darts_space.genotype import EDGE_NAMES
from plugins.darts_space.ops import DARTS_OPS, NOISE, NONE
from plugins.darts_space.space import DartsSpace

S1_NORMAL: tuple[tuple[str, str], ...] = (
    ("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"), ("max_pool_3x3", "skip_connect"),
    ("skip_connect", "sep_conv_3x3"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
    ("skip_connect", "sep_conv_3x3"), ("max_pool_3x3", "skip_connect"), ("skip_connect", "dil_conv_3x3"),
    ("dil_conv_3x3", "dil_conv_5x5"), ("dil_conv_3x3", "dil_conv_5x5"))
S1_REDUCE: tuple[tuple[str, str], ...] = (
    ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "dil_conv_3x3"), ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"), ("max_pool_3x3", "avg_pool_3x3"),
    ("max_pool_3x3", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"),
    ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"),
    ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"))
"""automl/RobustDARTS src/spaces.py ``primitives_1``, edges in DARTS order (node 2 ← 0, 1; node 3 ← 0, 1, 2; …)."""

S2_OPS = ("skip_connect", "sep_conv_3x3")
S3_OPS = ("none", "skip_connect", "sep_conv_3x3")
S4_OPS = (NOISE, "sep_conv_3x3")


def offered_ops(edge_ops: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """``none`` (it marks dropped edges) and every op some edge offers, in darts-pt's ``PRIMITIVES`` order
    (``noise`` right after ``none``)."""
    offered = {op for ops in edge_ops for op in ops}
    return (NONE, *(op for op in (NOISE, *DARTS_OPS) if op in offered and op != NONE))


class RobustDartsSpace(DartsSpace):
    """The DARTS space where edge ``e`` offers only ``edge_ops[e]``."""

    edge_ops: tuple[tuple[str, ...], ...] = ()

    def candidate_ops(self, edge: int) -> tuple[int, ...]:
        return tuple(self.op_names.index(name) for name in self.edge_ops[edge])

    def parse(self, text: str) -> Architecture:
        arch = super().parse(text)
        none = self.op_names.index(NONE)
        for edge, op in enumerate(arch):
            if op != none and op not in self.edge_choices(edge):
                raise UserError(f"genotype not in {self.name}: edge {EDGE_NAMES[edge]} offers "
                                f"{', '.join(self.edge_ops[edge])}, not {self.op_names[op]}")
        return arch


class S1Space(RobustDartsSpace):
    """RobustDARTS S1: two ops per edge, different on every edge."""

    name = "darts-s1"
    edge_ops = S1_NORMAL + S1_REDUCE
    op_names = offered_ops(edge_ops)


class S2Space(RobustDartsSpace):
    """RobustDARTS S2: {skip_connect, sep_conv_3x3} on every edge."""

    name = "darts-s2"
    edge_ops = (S2_OPS,) * 28
    op_names = offered_ops(edge_ops)


class S3Space(RobustDartsSpace):
    """RobustDARTS S3: {none, skip_connect, sep_conv_3x3} on every edge."""

    name = "darts-s3"
    edge_ops = (S3_OPS,) * 28
    op_names = offered_ops(edge_ops)


class S4Space(RobustDartsSpace):
    """RobustDARTS S4: {noise, sep_conv_3x3} on every edge."""

    name = "darts-s4"
    edge_ops = (S4_OPS,) * 28
    op_names = offered_ops(edge_ops)


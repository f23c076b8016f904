"""The search-space contract: supernet, discrete network, architecture strings, sampling."""
from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from harness.api.options import NoOptions, Options, parse_options
from harness.api.options import Options as OptionsModel

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.api.datasets import DatasetInfo
    from harness.api.supernet import Supernet

NONE_OP = "none"
"""The op an architecture writes on an edge its node does not keep (spaces with a topology)."""

Architecture = tuple[int, ...]
"""One chosen operation index per edge, in the space's edge order."""


@dataclass(frozen=True)
class RowChoice:
    """What one row of architecture weights decides, in a space whose rows are not all one op per edge.

    The row offers ``columns`` and an architecture keeps ``keep`` of them: one op of a node
    (``decides="op"``), or the ``keep`` inputs (parents) of a node (``decides="inputs"``),
    column j being the j-th candidate input. The space's ``argmax`` keeps, on every row
    independently, the ``keep`` columns of highest score, so a selector writes its
    decisions as scores and lets ``argmax`` build the architecture.
    """

    columns: tuple[int, ...]
    keep: int
    decides: Literal["op", "inputs"]


class SearchSpace(ABC):
    """A cell search space where an architecture picks one op for each edge.

    ``Options`` declares the network settings (``space.options``, e.g. ``C``, ``N``) that
    ``build_supernet`` and ``build_network`` receive, already validated.

    A space whose nodes keep only some of their input edges (DARTS: two per node) declares
    its topology: ``node_inputs`` (for each node, the indices of the edges feeding it; an
    edge feeds one node at most) and ``inputs_per_node``. An architecture then writes a
    dropped edge as the ``"none"`` op, which the space must have; ``argmax``, ``sample``
    and ``size`` follow the topology, and PT selects it (darts-pt Algorithm 2).
    """

    name: str = ""
    op_names: tuple[str, ...] = ()
    edge_names: tuple[str, ...] = ()
    Options: ClassVar[type[Options]] = NoOptions
    one_op_per_edge: ClassVar[bool] = True
    """False when an architecture's ints are not one op column per row (NAS-Bench-1Shot1's rows choose
    parent sets); optimizers and selectors that work column by column (PT, PGNAS) then need
    ``row_choices`` and refuse a space without it."""

    node_inputs: tuple[tuple[int, ...], ...] | None = None
    inputs_per_node: int | None = None

    def options(self, raw: Mapping[str, Any] | None) -> OptionsModel:
        """``raw`` validated against this space's ``Options``."""
        return parse_options(type(self).Options, raw, f"search space {self.name}")

    @property
    def num_edges(self) -> int:
        return len(self.edge_names)

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @abstractmethod
    def build_supernet(self, dataset: DatasetInfo, options: dict[str, Any]) -> Supernet:
        """The weight-sharing supernet for ``dataset`` (options: e.g. ``C``, ``N``)."""

    @abstractmethod
    def build_network(self, arch: Architecture, dataset: DatasetInfo, options: dict[str, Any]) -> nn.Module:
        """The stand-alone discrete network of one architecture, ``forward(x)``."""

    @abstractmethod
    def parse(self, text: str) -> Architecture:
        """Architecture from its string (or index); raises ``UserError`` saying what is wrong."""

    @abstractmethod
    def format(self, arch: Architecture) -> str:
        """The canonical string of an architecture."""

    def describe(self, arch: Architecture) -> dict[str, str]:
        """Extra facts a run records beside the architecture string (e.g. the NB101 hash); none by default."""
        return {}

    def candidate_ops(self, edge: int) -> tuple[int, ...]:
        """The ops the supernet offers on ``edge`` (default: all). Spaces whose edges differ
        (RobustDARTS S1) or that leave ``none`` out of the search (S2, S4) override this;
        optimizers then mix each edge over its candidates only (``logit_mask``)."""
        return tuple(range(self.num_ops))

    def logit_mask(self, device: torch.device | str | None = None) -> torch.Tensor | None:
        """``(num_edges, num_ops)``: 0 for candidate ops, -inf for the others, so that
        ``softmax(logits + mask)`` is the softmax over each edge's candidates; None when
        every op is a candidate everywhere."""
        allowed = [self.candidate_ops(edge) for edge in range(self.num_edges)]
        if all(len(ops) == self.num_ops for ops in allowed):
            return None
        import torch  # spaces with restricted edges only: listing spaces must not import torch

        mask = torch.full((self.num_edges, self.num_ops), float("-inf"), device=device)
        for edge, ops in enumerate(allowed):
            mask[edge, list(ops)] = 0.0
        return mask

    def row_choices(self) -> tuple[RowChoice, ...] | None:
        """For a space with ``one_op_per_edge`` False: what each row decides (PT selects row by row,
        ops first, then inputs); None (the default) for spaces of one op per edge."""
        return None

    def edge_choices(self, edge: int) -> tuple[int, ...]:
        """The ops an architecture may put on a kept edge: its candidates, without ``none`` when the
        space has a topology (``none`` then marks a dropped edge)."""
        ops = self.candidate_ops(edge)
        if self.node_inputs is None or self.inputs_per_node is None:
            return ops
        return tuple(op for op in ops if self.op_names[op] != NONE_OP)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random architecture (with a topology: ``inputs_per_node`` random inputs per node,
        each with a random op other than ``none``)."""
        if self.node_inputs is None or self.inputs_per_node is None:
            if self.logit_mask() is None:
                return tuple(int(i) for i in rng.integers(0, self.num_ops, size=self.num_edges))
            return tuple(int(rng.choice(self.candidate_ops(edge))) for edge in range(self.num_edges))
        arch = [int(rng.choice(self.edge_choices(edge))) for edge in range(self.num_edges)]
        none = self.op_names.index(NONE_OP)
        for inputs in self.node_inputs:
            kept = set(int(e) for e in rng.choice(inputs, size=self.inputs_per_node, replace=False))
            for edge in inputs:
                if edge not in kept:
                    arch[edge] = none
        return tuple(arch)

    def size(self) -> int | None:
        """Number of architectures, when the space is enumerable."""
        choices = [len(self.edge_choices(edge)) for edge in range(self.num_edges)]
        if self.node_inputs is None or self.inputs_per_node is None:
            return math.prod(choices)
        in_nodes = {edge for inputs in self.node_inputs for edge in inputs}
        count = math.prod(choices[edge] for edge in range(self.num_edges) if edge not in in_nodes)
        for inputs in self.node_inputs:
            count *= sum(math.prod(choices[edge] for edge in kept)
                         for kept in itertools.combinations(inputs, self.inputs_per_node))
        return count

    def count_op(self, arch: Architecture, op_name: str) -> int:
        """How many edges of ``arch`` use ``op_name`` (e.g. skip connections per epoch)."""
        if op_name not in self.op_names:
            return 0
        op = self.op_names.index(op_name)
        return sum(1 for chosen in arch if chosen == op)

    def argmax(self, scores: torch.Tensor) -> Architecture:
        """The architecture the scores (logits, one row per edge) point to.

        Only each edge's candidate ops count. Without a topology: the highest-scoring op on
        every edge. With one, DARTS' ``genotype()`` rule: each edge's strongest op other than
        ``none`` (softmax over its candidates), and each node
        keeps the ``inputs_per_node`` edges whose strongest such op has the largest softmax
        weight (ties: the lower edge index); its other edges become ``none``.
        """
        scores = scores.detach().reshape(self.num_edges, self.num_ops).float()
        mask = self.logit_mask(scores.device)
        if mask is not None:
            scores = scores + mask
        if self.node_inputs is None or self.inputs_per_node is None:
            return tuple(int(i) for i in scores.argmax(dim=-1).tolist())
        none = self.op_names.index(NONE_OP)
        probabilities = scores.softmax(dim=-1)
        probabilities[:, none] = -1.0
        if mask is not None:
            probabilities[mask.isinf()] = -1.0
        strength, best = probabilities.max(dim=-1)
        arch = [int(op) for op in best.tolist()]
        for inputs in self.node_inputs:
            ranked = sorted(inputs, key=lambda edge: (-float(strength[edge]), edge))
            for edge in ranked[self.inputs_per_node:]:
                arch[edge] = none
        return tuple(arch)

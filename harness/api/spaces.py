"""The search-space contract: supernet, discrete network, architecture strings, sampling."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.api.options import NoOptions, Options, parse_options
from harness.api.options import Options as OptionsModel

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.api.datasets import DatasetInfo
    from harness.api.supernet import Supernet

Architecture = tuple[int, ...]
"""One chosen operation index per edge, in the space's edge order."""


class SearchSpace(ABC):
    """A cell search space where an architecture picks one op for each edge.

    ``Options`` declares the network settings (``space.options``, e.g. ``C``, ``N``) that
    ``build_supernet`` and ``build_network`` receive, already validated.
    """

    name: str = ""
    op_names: tuple[str, ...] = ()
    edge_names: tuple[str, ...] = ()
    Options: ClassVar[type[Options]] = NoOptions
    one_op_per_edge: ClassVar[bool] = True
    """False when an architecture's ints are not one op column per row (NAS-Bench-1Shot1's rows choose
    parent sets); selectors and optimizers that decide or gate single columns (PT, PGNAS) refuse such spaces."""

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

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random architecture."""
        return tuple(int(i) for i in rng.integers(0, self.num_ops, size=self.num_edges))

    def size(self) -> int | None:
        """Number of architectures, when the space is enumerable."""
        return self.num_ops ** self.num_edges

    def count_op(self, arch: Architecture, op_name: str) -> int:
        """How many edges of ``arch`` use ``op_name`` (e.g. skip connections per epoch)."""
        if op_name not in self.op_names:
            return 0
        op = self.op_names.index(op_name)
        return sum(1 for chosen in arch if chosen == op)

    def argmax(self, scores: torch.Tensor) -> Architecture:
        """The architecture that takes the highest-scoring op on every edge."""
        return tuple(int(i) for i in scores.detach().reshape(self.num_edges, self.num_ops).argmax(dim=-1).tolist())

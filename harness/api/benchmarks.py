"""The benchmark contract: how good is an architecture?"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from harness.api.errors import UserError
from harness.api.options import NoOptions, Options, parse_options
from harness.api.spaces import Architecture

if TYPE_CHECKING:
    from harness.api.datasets import DatasetInfo
    from harness.api.run import SplitData
    from harness.api.spaces import SearchSpace


class BenchmarkUnavailable(UserError):
    """The benchmark's data is not configured (e.g. no table file); optional benchmarks are skipped."""


@dataclass
class BenchmarkContext:
    """The run a benchmark answers for; ``None`` fields outside a run (``nasbench query``)."""

    space: SearchSpace
    dataset: DatasetInfo | None = None
    data: SplitData | None = None
    device: torch.device | None = None
    seed: int = 0
    space_options: Mapping[str, Any] = field(default_factory=dict)
    """The run's ``space.options`` (a retraining benchmark builds networks of the same size)."""
    work_dir: Path | None = None
    """The run's folder, for a costly benchmark's own checkpoints (``harness.save_checkpoint``);
    files ending in ``.pt`` there are removed once the run's record is written."""


class Benchmark(ABC):
    """Answers metric queries for architectures of the spaces it supports.

    Metric keys are ``"<dataset>/<split>_<metric>"``, e.g. ``"cifar10-valid/valid_acc"``
    or ``"cifar10/test_acc"``; accuracies are in percent. ``headline`` names the metrics
    a results table shows by default (in that order) and ``titles`` their column titles,
    so tables need no knowledge of any particular benchmark.
    """

    name: str = ""
    cheap: bool = True
    """Cheap benchmarks are queried every epoch; expensive ones (retrain) only at the end."""
    Options: ClassVar[type[Options]] = NoOptions
    headline: ClassVar[tuple[str, ...]] = ()
    titles: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        self.options = parse_options(type(self).Options, options, f"benchmark {self.name or type(self).__name__}")
        self.context = context

    @abstractmethod
    def supports(self, space: SearchSpace) -> bool:
        ...

    @abstractmethod
    def query(self, space: SearchSpace, arch: Architecture) -> dict[str, float]:
        ...

    def headline_metrics(self) -> list[str]:
        """The metric columns a results table shows by default (those this instance can answer)."""
        return list(self.headline)

    def index_of(self, space: SearchSpace, arch: Architecture) -> int | None:
        """The architecture's index in the benchmark's official order, if it has one.

        NB201's order is a fixed permutation stored in the benchmark file itself, so the
        index belongs to the benchmark, not to the space.
        """
        return None

    def arch_at(self, space: SearchSpace, index: int) -> Architecture:
        raise UserError(f"benchmark {self.name} has no architecture index; give an architecture string")

    def optimum(self, metric: str) -> float | None:
        """Best value of ``metric`` over the whole space, for the tables' ``optimal`` row."""
        return None

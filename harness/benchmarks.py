"""The benchmark contract: how good is an architecture?"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from harness.spaces import Architecture

if TYPE_CHECKING:
    from harness.datasets import DatasetInfo
    from harness.data import SearchData
    from harness.spaces import SearchSpace


@dataclass
class BenchmarkContext:
    """The run a benchmark answers for; ``None`` fields outside a run (``nasbench query``)."""

    space: "SearchSpace"
    dataset: "DatasetInfo | None" = None
    data: "SearchData | None" = None
    device: torch.device | None = None
    seed: int = 0


class Benchmark(ABC):
    """Answers metric queries for architectures of the spaces it supports.

    Metric keys are ``"<dataset>/<split>_<metric>"``, e.g. ``"cifar10-valid/valid_acc"``
    or ``"cifar10/test_acc"``; accuracies are in percent.
    """

    name: str = ""
    cheap: bool = True
    """Cheap benchmarks are queried every epoch; expensive ones (retrain) only at the end."""

    def __init__(self, options: dict[str, Any], context: BenchmarkContext | None) -> None:
        self.options = dict(options)
        self.context = context

    @abstractmethod
    def supports(self, space: "SearchSpace") -> bool:
        ...

    @abstractmethod
    def query(self, space: "SearchSpace", arch: Architecture) -> dict[str, float]:
        ...

    def headline_metrics(self) -> list[str]:
        """The metric columns a results table shows by default."""
        return []

    def optimum(self, metric: str) -> float | None:
        """Best value of ``metric`` over the whole space, for the tables' ``optimal`` row."""
        return None

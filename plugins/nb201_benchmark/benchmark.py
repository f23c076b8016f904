"""The ``nb201`` benchmark: looks NB201 cells up in the configured benchmark file."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness import Architecture, Benchmark, BenchmarkContext, SearchSpace, UserError
from plugins.nb201_benchmark.location import MetricSource, configured_path, open_source
from plugins.nb201_benchmark.options import NB201BenchmarkOptions

HEADLINE_METRICS = (
    "cifar10-valid/valid_acc", "cifar10/test_acc",
    "cifar100/valid_acc", "cifar100/test_acc",
    "ImageNet16-120/valid_acc", "ImageNet16-120/test_acc",
)
"""The NB201 paper's table: CIFAR-10 valid (cifar10-valid split) and test, CIFAR-100, ImageNet16-120."""


class NB201Benchmark(Benchmark):
    """Looks architectures of the ``nb201`` space up in the configured benchmark file.

    Which file is decided when the benchmark is created (so an unconfigured optional
    benchmark is skipped at once); the file itself is read on the first query.
    """

    name = "nb201"
    cheap = True

    Options = NB201BenchmarkOptions
    options: NB201BenchmarkOptions
    headline = HEADLINE_METRICS
    titles = {
        "cifar10-valid/valid_acc": "CIFAR-10 valid",
        "cifar10/test_acc": "CIFAR-10 test",
        "cifar100/valid_acc": "CIFAR-100 valid",
        "cifar100/test_acc": "CIFAR-100 test",
        "ImageNet16-120/valid_acc": "ImageNet16-120 valid",
        "ImageNet16-120/test_acc": "ImageNet16-120 test",
    }
    """The NB201 paper's columns (CIFAR-10 valid is the cifar10-valid split, test is cifar10)."""

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        super().__init__(options, context)
        self.path, self.origin = configured_path(self.options.model_dump())
        self._source: MetricSource | None = None

    @property
    def source(self) -> MetricSource:
        if self._source is None:
            self._source = open_source(self.path, self.options.model_dump())
        return self._source

    def supports(self, space: SearchSpace) -> bool:
        return space.name == "nb201"

    def query(self, space: SearchSpace, arch: Architecture) -> dict[str, float]:
        """All metrics of ``arch``; empty when the table has no row for it (a partial table)."""
        self._require(space)
        return self.source.metrics(space.format(arch)) or {}

    def headline_metrics(self) -> list[str]:
        present = set(self.source.metric_names())
        return [metric for metric in HEADLINE_METRICS if metric in present]

    def optimum(self, metric: str) -> float | None:
        return self.source.optimum(metric)

    def index_of(self, space: SearchSpace, arch: Architecture) -> int | None:
        self._require(space)
        return self.source.index_of(space.format(arch))

    def arch_at(self, space: SearchSpace, index: int) -> Architecture:
        self._require(space)
        return space.parse(self.source.arch_str_at(index))

    def _require(self, space: SearchSpace) -> None:
        if not self.supports(space):
            raise UserError(f"benchmark nb201 answers only for the nb201 search space, not '{space.name}'")

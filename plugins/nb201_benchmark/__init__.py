"""NAS-Bench-201 as a benchmark: the official ``.pth`` (through ``nas_201_api``) or a compact table.

Registers the ``nb201`` benchmark and the ``nasbench benchmark`` commands (``import``
converts a benchmark file to the compact table in the user data folder, ``info`` shows
what is configured).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import Field

from harness import Architecture, Benchmark, BenchmarkContext, Options, SearchSpace, UserError, hookimpl
from plugins.nb201_benchmark.location import (
    DOWNLOAD_HINT,
    MetricSource,
    configured_path,
    imported_table_path,
    open_source,
)
from plugins.nb201_benchmark.table import write_table

HEADLINE_METRICS = (
    "cifar10-valid/valid_acc", "cifar10/test_acc",
    "cifar100/valid_acc", "cifar100/test_acc",
    "ImageNet16-120/valid_acc", "ImageNet16-120/test_acc",
)
"""The NB201 paper's table: CIFAR-10 valid (cifar10-valid split) and test, CIFAR-100, ImageNet16-120."""

IMPORTABLE = ("nb201",)


class NB201BenchmarkOptions(Options):
    file: str | None = Field(None, description="a benchmark table (CSV/Parquet/compact) or an official .pth; "
                                               "null: $NASBENCH_NB201_FILE, then the imported table")
    trust: bool = Field(False, description="allow unpickling an official .pth you trust")


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


@hookimpl
def nasbench_register_benchmarks(register: Any) -> None:
    register("nb201", NB201Benchmark,
             "NAS-Bench-201: official .pth (through nas_201_api) or a compact CSV/Parquet table")


@click.group("benchmark")
def benchmark_commands() -> None:
    """Set up and inspect benchmark files (NAS-Bench-201)."""


@benchmark_commands.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", default="nb201", show_default=True, help="Benchmark the file belongs to.")
@click.option("--trust", is_flag=True, help="Allow unpickling an official .pth file that you trust.")
def import_command(file: Path, name: str, trust: bool) -> None:
    """Convert FILE (official .pth, merged CSV or compact table) to the compact table that later commands use."""
    if name not in IMPORTABLE:
        raise UserError(f"cannot import benchmark '{name}'; known: {', '.join(IMPORTABLE)}")
    if file.is_dir():
        raise UserError(f"{file} is a folder; give the benchmark file itself (a .pth, or a CSV/Parquet table)")
    if not file.is_file():
        raise UserError(f"{file} does not exist; {DOWNLOAD_HINT}")
    source = open_source(file, {"trust": trust})
    if file.suffix.lower() == ".pth":
        click.echo(f"querying all {len(source)} architectures through nas_201_api ...", err=True)
    frame = source.to_frame()
    destination = imported_table_path(name)
    write_table(frame, destination)
    metrics = len(frame.columns) - 2
    click.echo(f"imported {len(frame)} architectures with {metrics} metrics from {file} into {destination}")


@benchmark_commands.command("info")
@click.option("--name", default="nb201", show_default=True, help="Benchmark to describe.")
@click.option("--benchmark-file", "file", type=click.Path(path_type=Path), default=None,
              help="Use this file instead of the configured one.")
@click.option("--trust", is_flag=True, help="Allow unpickling an official .pth file that you trust.")
def info_command(name: str, file: Path | None, trust: bool) -> None:
    """Show which benchmark file is used, its size, metrics and their optima."""
    if name not in IMPORTABLE:
        raise UserError(f"unknown benchmark '{name}'; known: {', '.join(IMPORTABLE)}")
    options = {"file": str(file) if file else None, "trust": trust}
    path, origin = configured_path(options)
    source = open_source(path, options)
    click.echo(f"benchmark: {name}")
    click.echo(f"file:      {path} ({origin})")
    click.echo(f"architectures: {len(source)}")
    click.echo("metrics (optimum over the table):")
    for metric in source.metric_names():
        best = source.optimum(metric)
        click.echo(f"  {metric:<32} {'-' if best is None else f'{best:.4f}'}")


@hookimpl
def nasbench_register_commands(cli: Any) -> None:
    cli.add_command(benchmark_commands)

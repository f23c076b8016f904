"""NAS-Bench-101 as a benchmark (``nb101``) for every space whose cells are NB101 cells.

It answers for the ``nb101`` space and the NAS-Bench-1Shot1 spaces (any space with an
``nb101_spec(arch)`` method), from the official TFRecord, NASLib's pickle or the
compact table of ``nasbench nb101 import``. Metrics are CIFAR-10 means over NB101's
three runs (see ``plugins.nb101_benchmark.table``).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import Field

from harness import Architecture, Benchmark, BenchmarkContext, Options, SearchSpace, UserError, hookimpl
from plugins.nb101_benchmark.location import DOWNLOAD_HINT, configured_path, imported_table_path, open_table
from plugins.nb101_benchmark.table import NB101Table

HEADLINE = ("cifar10-nb101/valid_acc", "cifar10-nb101/test_acc")


class NB101BenchmarkOptions(Options):
    file: str | None = Field(None, description="official .tfrecord, NASLib .pkl or imported .npz; "
                                               "null: $NASBENCH_NB101_FILE, then the imported table")
    trust: bool = Field(False, description="allow unpickling a NASLib pickle whose checksum is not a known one")


class NB101Benchmark(Benchmark):
    """Looks up the NB101 cell of an architecture by its official hash (file read on the first query)."""

    name = "nb101"
    cheap = True
    Options = NB101BenchmarkOptions
    options: NB101BenchmarkOptions
    headline = HEADLINE
    titles = {"cifar10-nb101/valid_acc": "NB101 valid", "cifar10-nb101/test_acc": "NB101 test"}

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        super().__init__(options, context)
        self.path, self.origin = configured_path(self.options.model_dump())
        self._table: NB101Table | None = None

    @property
    def table(self) -> NB101Table:
        if self._table is None:
            self._table = open_table(self.path, self.options.trust)
        return self._table

    def supports(self, space: SearchSpace) -> bool:
        return callable(getattr(space, "nb101_spec", None))

    def query(self, space: SearchSpace, arch: Architecture) -> dict[str, float]:
        """All metrics of the cell; empty when the file lacks it (e.g. NASLib's 30-cell test pickle)."""
        if not self.supports(space):
            raise UserError(f"benchmark nb101 answers for spaces of NB101 cells (nb101, nb1shot1-*), not '{space.name}'")
        spec = space.nb101_spec(arch)  # type: ignore[attr-defined]
        return self.table.metrics(spec.hash()) or {}

    def headline_metrics(self) -> list[str]:
        present = set(self.table.metric_names())
        return [metric for metric in HEADLINE if metric in present]

    def optimum(self, metric: str) -> float | None:
        return self.table.optimum(metric)


@hookimpl
def nasbench_register_benchmarks(register: Any) -> None:
    register("nb101", NB101Benchmark,
             "NAS-Bench-101 (CIFAR-10, mean of 3 runs): official .tfrecord without TensorFlow, NASLib pickle")


@click.group("nb101")
def nb101_commands() -> None:
    """Set up and inspect the NAS-Bench-101 benchmark file."""


@nb101_commands.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--trust", is_flag=True, help="Allow unpickling a NASLib pickle whose checksum is not a known one.")
def import_command(file: Path, trust: bool) -> None:
    """Convert FILE (official .tfrecord or NASLib pickle) to the compact table later runs use by default."""
    if not file.is_file():
        raise UserError(f"{file} does not exist; {DOWNLOAD_HINT}")
    click.echo(f"reading {file} (the official file takes a few minutes) ...", err=True)
    table = open_table(file, trust)
    destination = imported_table_path()
    table.save(destination)
    click.echo(f"imported {len(table)} cells with {len(table.metric_names())} metrics from {file} into {destination}")


@nb101_commands.command("info")
@click.option("--benchmark-file", "file", type=click.Path(path_type=Path), default=None,
              help="Use this file instead of the configured one.")
@click.option("--trust", is_flag=True, help="Allow unpickling a NASLib pickle whose checksum is not a known one.")
def info_command(file: Path | None, trust: bool) -> None:
    """Show which NB101 file is used, its size, metrics and their optima."""
    path, origin = configured_path({"file": str(file) if file else None})
    table = open_table(path, trust)
    click.echo(f"file:  {path} ({origin})")
    click.echo(f"cells: {len(table)}")
    for metric in table.metric_names():
        best = table.optimum(metric)
        click.echo(f"  {metric:<28} {'-' if best is None else f'{best:.4f}'}")


@hookimpl
def nasbench_register_commands(cli: Any) -> None:
    cli.add_command(nb101_commands)

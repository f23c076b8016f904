"""NAS-Bench-201 as a benchmark: the official ``.pth`` (through ``nas_201_api``), a compact table,
or the packed table of mean accuracies shipped with the package.

Registers the ``nb201`` benchmark (``benchmark.py``, imported when first used) and the
``nasbench benchmark`` commands (``import`` converts a benchmark file to the compact
table in the user data folder, ``info`` shows what is configured).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness import UserError, hookimpl
from plugins.nb201_benchmark.options import NB201BenchmarkOptions

IMPORTABLE = ("nb201",)
OWN_COMMANDS = "Other benchmarks bring their own commands (see `nasbench --help`; e.g. `nasbench nb101 info`)"


@hookimpl
def nasbench_register_benchmarks(register: Any) -> None:
    register("nb201", "plugins.nb201_benchmark.benchmark:NB201Benchmark",
             "NAS-Bench-201: official .pth (through nas_201_api), a compact CSV/Parquet table, "
             "or the mean accuracies shipped with nasbench", options=NB201BenchmarkOptions)


@click.group("benchmark")
def benchmark_commands() -> None:
    """Set up and inspect benchmark files (NAS-Bench-201)."""


@benchmark_commands.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", default="nb201", show_default=True, help="Benchmark the file belongs to.")
@click.option("--trust", is_flag=True, help="Allow unpickling an official .pth file that you trust.")
def import_command(file: Path, name: str, trust: bool) -> None:
    """Convert FILE (official .pth, merged CSV or compact table) to the compact table that later commands use."""
    from plugins.nb201_benchmark.location import DOWNLOAD_HINT, imported_table_path, open_source
    from plugins.nb201_benchmark.table import write_table

    if name not in IMPORTABLE:
        raise UserError(f"cannot import benchmark '{name}' here; known: {', '.join(IMPORTABLE)}. {OWN_COMMANDS}")
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
    from plugins.nb201_benchmark.location import configured_path, open_source

    if name not in IMPORTABLE:
        raise UserError(f"`nasbench benchmark` does not serve benchmark '{name}'; known: {', '.join(IMPORTABLE)}. "
                        f"{OWN_COMMANDS}")
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

"""Where the NB201 benchmark file is, and how to open it.

Resolution order: the run's ``file`` option (``--benchmark-file``) > the environment
variable ``NASBENCH_NB201_FILE`` > the table that ``nasbench benchmark import`` stored in
the user data folder > the packed table shipped with the package (mean accuracies only),
so look-ups work right after install and a user's own file always wins.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from harness import locate_benchmark_file, nasbench_home
from plugins.nb201_benchmark.official import OfficialNB201
from plugins.nb201_benchmark.packed import PACKED_SUFFIX, load_packed
from plugins.nb201_benchmark.table import MetricTable

FILE_ENV = "NASBENCH_NB201_FILE"
OFFICIAL_SUFFIXES = (".pth",)
SHIPPED_TABLE = Path(__file__).with_name("data") / "nb201-mean-accuracies.npz"
"""Packed by benchmarks/make_nb201_packed_table.py; sources and licences in data/NOTICE.md."""

DOWNLOAD_HINT = (
    "download NAS-Bench-201-v1_1-096897.pth from the NAS-Bench-201 authors (D-X-Y/NAS-Bench-201) "
    "or get a table CSV in the format of docs/benchmark-table-format.md, then pass --benchmark-file FILE, "
    f"set {FILE_ENV}=FILE, or run `nasbench benchmark import FILE` once"
)


class MetricSource(Protocol):
    """What the benchmark needs from an opened benchmark file (a table or the official API)."""

    path: Path

    def __len__(self) -> int: ...

    def metrics(self, arch_str: str) -> dict[str, float] | None: ...

    def index_of(self, arch_str: str) -> int | None: ...

    def arch_str_at(self, index: int) -> str: ...

    def metric_names(self) -> list[str]: ...

    def optimum(self, metric: str) -> float | None: ...

    def to_frame(self) -> pd.DataFrame: ...


def imported_table_path(name: str = "nb201") -> Path:
    """Where ``nasbench benchmark import`` stores the compact table of benchmark ``name``."""
    return nasbench_home() / "benchmarks" / f"{name}.csv"


def configured_path(options: dict[str, Any]) -> tuple[Path, str]:
    """The benchmark file to use and where that choice came from (for messages)."""
    return locate_benchmark_file(options.get("file"), FILE_ENV, imported_table_path(), SHIPPED_TABLE,
                                 "NAS-Bench-201 benchmark file", DOWNLOAD_HINT)


def open_source(path: Path, options: dict[str, Any]) -> MetricSource:
    """Open ``path`` as the official ``.pth`` (through nas_201_api) or as a metric table."""
    if path.suffix.lower() in OFFICIAL_SUFFIXES:
        return OfficialNB201.open(path, trust=options.get("trust", False))
    if path.suffix.lower() == PACKED_SUFFIX:
        return load_packed(path)
    return MetricTable.load(path)

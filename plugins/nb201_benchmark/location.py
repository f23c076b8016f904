"""Where the NB201 benchmark file is, and how to open it.

Resolution order: the run's ``file`` option (``--benchmark-file``) > the environment
variable ``NASBENCH_NB201_FILE`` > the table that ``nasbench benchmark import`` stored in
the user data folder > the packed table shipped with the package (mean accuracies only),
so look-ups work right after install and a user's own file always wins.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from harness import BenchmarkUnavailable, UserError
from plugins.nb201_benchmark.official import OfficialNB201
from plugins.nb201_benchmark.packed import PACKED_SUFFIX, load_packed
from plugins.nb201_benchmark.table import MetricTable

FILE_ENV = "NASBENCH_NB201_FILE"
HOME_ENV = "NASBENCH_HOME"
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


def nasbench_home() -> Path:
    """The user data folder: ``$NASBENCH_HOME``, else ``$XDG_DATA_HOME/nasbench``, else ``~/.local/share/nasbench``."""
    explicit = os.environ.get(HOME_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "nasbench"


def imported_table_path(name: str = "nb201") -> Path:
    """Where ``nasbench benchmark import`` stores the compact table of benchmark ``name``."""
    return nasbench_home() / "benchmarks" / f"{name}.csv"


def configured_path(options: dict[str, Any]) -> tuple[Path, str]:
    """The benchmark file to use and where that choice came from (for messages)."""
    explicit = options.get("file")
    if explicit:
        return _existing(Path(str(explicit)).expanduser(), "--benchmark-file")
    from_env = os.environ.get(FILE_ENV, "").strip()
    if from_env:
        return _existing(Path(from_env).expanduser(), FILE_ENV)
    imported = imported_table_path()
    if imported.is_file():
        return imported, "the imported table"
    if SHIPPED_TABLE.is_file():
        return SHIPPED_TABLE, "the table shipped with nasbench"
    raise BenchmarkUnavailable(f"no NAS-Bench-201 benchmark file is configured: {DOWNLOAD_HINT}")


def _existing(path: Path, origin: str) -> tuple[Path, str]:
    if not path.exists():
        raise UserError(f"NAS-Bench-201 benchmark file {path} (from {origin}) does not exist; {DOWNLOAD_HINT}")
    if not path.is_file():
        raise UserError(f"NAS-Bench-201 benchmark file {path} (from {origin}) is a folder, not a file; {DOWNLOAD_HINT}")
    return path, origin


def open_source(path: Path, options: dict[str, Any]) -> MetricSource:
    """Open ``path`` as the official ``.pth`` (through nas_201_api) or as a metric table."""
    if path.suffix.lower() in OFFICIAL_SUFFIXES:
        return OfficialNB201.open(path, trust=options.get("trust", False))
    if path.suffix.lower() == PACKED_SUFFIX:
        return load_packed(path)
    return MetricTable.load(path)

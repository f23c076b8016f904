"""Which NB101 file to use, how to open it, and its compact cache.

Resolution: the benchmark's ``file`` option (``--benchmark-file``) > ``$NASBENCH_NB101_FILE``
> the table ``nasbench nb101 import`` stored in the user data folder. Nothing configured
raises ``BenchmarkUnavailable`` (an optional ``nb101?`` benchmark is then skipped).

Reading the official TFRecord takes minutes, so the first read writes a compact ``.npz``
next to the imported table (``<data folder>/cache/``), keyed by the file's path, size
and modification time; later runs load that in about a second. Within one process the
table is read once (lazy: on the first query).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness import UserError, locate_benchmark_file, nasbench_home
from plugins.nb101_benchmark.naslib import read_naslib
from plugins.nb101_benchmark.official import read_official
from plugins.nb101_benchmark.table import NB101Table

FILE_ENV = "NASBENCH_NB101_FILE"
OFFICIAL_SUFFIXES = (".tfrecord",)
PICKLE_SUFFIXES = (".pkl", ".pickle")
COMPACT_SUFFIXES = (".npz",)
DOWNLOAD_HINT = (
    "download nasbench_only108.tfrecord (or nasbench_full.tfrecord for 4/12/36 epochs) from "
    "https://storage.googleapis.com/nasbench/ (google-research/nasbench), then pass --benchmark-file FILE, "
    f"set {FILE_ENV}=FILE, or run `nasbench nb101 import FILE` once"
)


def imported_table_path() -> Path:
    return nasbench_home() / "benchmarks" / "nb101.npz"


def configured_path(options: dict[str, Any]) -> tuple[Path, str]:
    """The NB101 file to use and where that choice came from."""
    return locate_benchmark_file(options.get("file"), FILE_ENV, imported_table_path(), None,
                                 "NAS-Bench-101 file", DOWNLOAD_HINT)


def open_table(path: Path, trust: Any = False) -> NB101Table:
    """The table of ``path`` (official TFRecord, NASLib pickle or compact ``.npz``), through the caches."""
    suffix = path.suffix.lower()
    if suffix not in OFFICIAL_SUFFIXES + PICKLE_SUFFIXES + COMPACT_SUFFIXES:
        raise UserError(f"{path}: unknown NAS-Bench-101 file type '{suffix}'; expected .tfrecord (official), "
                        ".pkl/.pickle (NASLib) or .npz (imported table)")
    resolved = path.resolve()
    stat = resolved.stat()
    if suffix in COMPACT_SUFFIXES:
        return _load_compact(str(resolved), stat.st_mtime_ns, stat.st_size)
    return _load_source(str(resolved), stat.st_mtime_ns, stat.st_size, bool(trust))


CACHE_FORMAT = 2
"""Bumped whenever the compact table's layout or metric names change, so older caches are ignored."""


def cache_path(resolved: str, mtime_ns: int, size: int) -> Path:
    key = hashlib.sha256(f"{CACHE_FORMAT}|{resolved}|{size}|{mtime_ns}".encode()).hexdigest()[:24]
    return nasbench_home() / "cache" / f"nb101-{key}.npz"


@lru_cache(maxsize=4)
def _load_compact(path: str, mtime_ns: int, size: int) -> NB101Table:
    return NB101Table.load_compact(Path(path))


@lru_cache(maxsize=4)
def _load_source(path: str, mtime_ns: int, size: int, trust: bool) -> NB101Table:
    cached = cache_path(path, mtime_ns, size)
    if cached.is_file():
        table = NB101Table.load_compact(cached)
        table.path = Path(path)
        return table
    source = Path(path)
    cells = read_official(source) if source.suffix.lower() in OFFICIAL_SUFFIXES else read_naslib(source, trust)
    table = NB101Table.from_cells(cells, source)
    try:
        table.save(cached)
    except OSError:
        pass  # a read-only data folder only costs the next run another full read
    return table

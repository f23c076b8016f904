"""The packed NB201 table shipped with the package: arch ops as uint8, accuracies as scaled uint16.

A CSV of 15,625 architecture strings and float columns is several MB; the same table as
``.npz`` is a few hundred kB, small enough to ship so look-ups work right after install.
Each architecture is stored as its six op codes (in the order of the official string),
each accuracy as ``round(value × SCALE)`` in a uint16, ``MISSING`` for an absent cell.
With ``SCALE = 600`` a value is off by at most 1/1200 ≈ 0.00083 percentage points, and a
mean over three seeds of a CIFAR accuracy (a multiple of 1/300) is stored exactly.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness import UserError
from plugins.nb201_benchmark.table import MetricTable, higher_is_better

SCALE = 600
MISSING = np.iinfo(np.uint16).max
PACKED_SUFFIX = ".npz"
TOKEN = re.compile(r"([A-Za-z0-9_]+)~(\d)")
EDGE_SOURCES = (0, 0, 1, 0, 1, 2)
"""Source node of each op in the official string ``|a~0|+|b~0|c~1|+|d~0|e~1|f~2|``."""


def arch_ops(arch_str: str) -> list[str]:
    """The six op names of an official NB201 string, in string order."""
    tokens = TOKEN.findall(arch_str)
    if [int(source) for _, source in tokens] != list(EDGE_SOURCES):
        raise UserError(f"'{arch_str}' is not an NB201 architecture string (|op~0|+|op~0|op~1|+|op~0|op~1|op~2|)")
    return [op for op, _ in tokens]


def arch_string(ops: list[str]) -> str:
    """The official string of six op names (inverse of ``arch_ops``)."""
    a, b, c, d, e, f = ops
    return f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"


def write_packed(table: MetricTable, destination: Path, metrics: list[str]) -> None:
    """Pack ``metrics`` (accuracies in percent) of ``table`` into ``destination`` (.npz)."""
    unknown = [m for m in metrics if m not in table.names]
    if unknown:
        raise UserError(f"the source table has no metric(s) {unknown}")
    not_accuracy = [m for m in metrics if higher_is_better(m) is not True]
    if not_accuracy:
        raise UserError(f"only accuracies (0..100) can be packed, not {not_accuracy}")
    ops = [arch_ops(arch) for arch in table.arch_strs]
    op_names = sorted({op for arch in ops for op in arch})
    codes = np.array([[op_names.index(op) for op in arch] for arch in ops], dtype=np.uint8)
    columns = table.values[:, [table.names.index(m) for m in metrics]]
    if np.nanmin(columns) < 0 or np.nanmax(columns) * SCALE >= MISSING:
        raise UserError(f"accuracies must lie in [0, {(MISSING - 1) / SCALE:.1f}] to be packed")
    values = np.where(np.isnan(columns), MISSING, np.rint(np.nan_to_num(columns) * SCALE)).astype(np.uint16)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("wb") as stream:
        np.savez_compressed(stream, index=np.asarray(table.indices, dtype=np.int32), ops=codes,
                            op_names=np.array(op_names), metrics=np.array(metrics), values=values,
                            scale=np.array(SCALE))


def read_packed(path: Path) -> MetricTable:
    """Unpack a table written by ``write_packed`` (no pickles: plain arrays only)."""
    try:
        with np.load(path, allow_pickle=False) as packed:
            index, codes, op_names = packed["index"], packed["ops"], [str(op) for op in packed["op_names"]]
            metrics, raw, scale = [str(m) for m in packed["metrics"]], packed["values"], float(packed["scale"])
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"cannot read packed benchmark table {path} ({exc}); it should be written by "
                        "benchmarks/make_nb201_packed_table.py") from None
    if codes.shape != (len(index), len(EDGE_SOURCES)) or raw.shape != (len(index), len(metrics)):
        raise UserError(f"packed benchmark table {path} has inconsistent array shapes")
    values = np.where(raw == MISSING, np.nan, raw.astype(np.float64) / scale)
    arch_strs = [arch_string([op_names[c] for c in row]) for row in codes.tolist()]
    return MetricTable(path, arch_strs, [int(i) for i in index], metrics, values)


def load_packed(path: Path) -> MetricTable:
    """``read_packed`` cached while the file is unchanged (many runs in one process share one read)."""
    resolved = path.resolve()
    stat = resolved.stat()
    return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int, size: int) -> MetricTable:
    return read_packed(Path(path))

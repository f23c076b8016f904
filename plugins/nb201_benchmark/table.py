"""The compact benchmark table: one row per architecture, one column per metric.

Format (docs/benchmark-table-format.md): CSV or Parquet with ``arch_str`` (the official
string), optionally ``index`` (the official NB201 index; row order otherwise) and metric
columns ``<dataset>/<split>_<metric>[@<variant>]``. The merged reference CSV
(``nb201_merged_final_accuracies.csv``) is read directly through a fixed column map.
The table is read once with pandas and indexed by ``arch_str`` in a dict, so a query is
one dict lookup and one row of a NumPy array.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from harness import UserError, make_parent_folder

ARCH_COLUMN = "arch_str"
INDEX_COLUMN = "index"
FORMAT_HINT = "see docs/benchmark-table-format.md for the table format"
METRIC_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[a-z]+_[a-z0-9_]+(@[A-Za-z0-9_.-]+)?$")
PARQUET_SUFFIXES = (".parquet", ".pq")
_OP = r"(none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)"
ARCH_PATTERN = re.compile(rf"^\|{_OP}~0\|\+\|{_OP}~0\|{_OP}~1\|\+\|{_OP}~0\|{_OP}~1\|{_OP}~2\|$")
"""The official NAS-Bench-201 cell string: three node groups, one op per incoming edge."""

MERGED_COLUMNS = {
    "cifar10valid_valid_acc_mean200": "cifar10-valid/valid_acc",
    "cifar10valid_test_acc_mean200": "cifar10-valid/test_acc",
    "cifar10valid_train_acc_mean200": "cifar10-valid/train_acc",
    "cifar10valid_train_time_200": "cifar10-valid/train_time",
    "cifar10_test_acc_mean200": "cifar10/test_acc",
    "cifar100_test_acc_mean200": "cifar100/test_acc",
    "imagenet16_test_acc_mean200": "ImageNet16-120/test_acc",
    "naslib_cifar10_val_acc_1seed200": "cifar10-valid/valid_acc@1seed",
    "naslib_cifar100_val_acc_1seed200": "cifar100/valid_acc",
    "naslib_imagenet16_val_acc_1seed200": "ImageNet16-120/valid_acc",
    "cifar10valid_valid_acc_mean12": "cifar10-valid/valid_acc@12",
    "cifar10_test_acc_mean12": "cifar10/test_acc@12",
    "cifar100_valid_acc_mean12": "cifar100/valid_acc@12",
    "cifar100_test_acc_mean12": "cifar100/test_acc@12",
    "imagenet16_valid_acc_mean12": "ImageNet16-120/valid_acc@12",
    "imagenet16_test_acc_mean12": "ImageNet16-120/test_acc@12",
}
"""Columns of the merged reference CSV → metric keys (its other columns are ignored)."""


def higher_is_better(metric: str) -> bool | None:
    """Direction of a metric from its name: accuracies up, losses and times down, else unknown."""
    kind = metric.split("/", 1)[-1].split("@", 1)[0]
    if kind.endswith("_acc"):
        return True
    if kind.endswith(("_loss", "_time")):
        return False
    return None


class MetricTable:
    """All metrics of every architecture in one benchmark table, looked up by arch string."""

    def __init__(self, path: Path, arch_strs: list[str], indices: list[int], metric_names: list[str],
                 values: np.ndarray) -> None:
        self.path = path
        self.arch_strs = arch_strs
        self.indices = indices
        self.names = metric_names
        self.values = values
        self._row_of_arch = {arch: row for row, arch in enumerate(arch_strs)}
        self._row_of_index = {index: row for row, index in enumerate(indices)}

    @classmethod
    def load(cls, path: Path) -> MetricTable:
        """Read ``path`` (cached while the file is unchanged, so many runs share one read)."""
        resolved = path.resolve()
        try:
            stat = resolved.stat()
        except OSError as exc:
            raise UserError(f"cannot read benchmark table {path} ({exc.strerror}); {FORMAT_HINT}") from None
        return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, path: Path) -> MetricTable:
        """Validate a table read from ``path`` (compact or merged columns) and index it."""
        frame = frame.rename(columns={old: new for old, new in MERGED_COLUMNS.items() if old in frame.columns})
        if ARCH_COLUMN not in frame.columns:
            raise UserError(f"benchmark table {path} has no '{ARCH_COLUMN}' column "
                            f"(columns: {', '.join(map(str, frame.columns[:8]))}); {FORMAT_HINT}")
        metric_names = [str(c) for c in frame.columns if METRIC_PATTERN.match(str(c))]
        malformed = [str(c) for c in frame.columns if "/" in str(c) and str(c) not in metric_names]
        if malformed:
            raise UserError(f"benchmark table {path} has malformed metric column(s) {malformed}; "
                            f"expected '<dataset>/<split>_<metric>' such as 'cifar10/test_acc'; {FORMAT_HINT}")
        if not metric_names:
            raise UserError(f"benchmark table {path} has no metric columns like 'cifar10/test_acc'; {FORMAT_HINT}")
        if frame.empty:
            raise UserError(f"benchmark table {path} has a header but no architectures; {FORMAT_HINT}")
        arch_strs = _arch_strings(frame[ARCH_COLUMN], path)
        indices = _indices(frame, path)
        values = np.empty((len(frame), len(metric_names)), dtype=np.float64)
        for column, name in enumerate(metric_names):
            try:
                values[:, column] = pd.to_numeric(frame[name]).to_numpy(dtype=np.float64)
            except (ValueError, TypeError):
                raise UserError(f"benchmark table {path}: column '{name}' has non-numeric values; "
                                f"{FORMAT_HINT}") from None
        return cls(path, arch_strs, indices, metric_names, values)

    def __len__(self) -> int:
        return len(self.arch_strs)

    def metrics(self, arch_str: str) -> dict[str, float] | None:
        """Every metric the table has for ``arch_str`` (missing cells left out), or None if absent."""
        row = self._row_of_arch.get(arch_str)
        if row is None:
            return None
        return {name: float(value) for name, value in zip(self.names, self.values[row]) if not math.isnan(value)}

    def index_of(self, arch_str: str) -> int | None:
        row = self._row_of_arch.get(arch_str)
        return None if row is None else self.indices[row]

    def arch_str_at(self, index: int) -> str:
        row = self._row_of_index.get(int(index))
        if row is None:
            raise UserError(f"index {index} is not in the benchmark table {self.path} "
                            f"(it has {len(self)} architectures, indices {min(self.indices)}..{max(self.indices)})")
        return self.arch_strs[row]

    def metric_names(self) -> list[str]:
        return list(self.names)

    def optimum(self, metric: str) -> float | None:
        """Best value of ``metric`` in the table (max for accuracies, min for losses and times)."""
        if metric not in self.names:
            return None
        direction = higher_is_better(metric)
        column = self.values[:, self.names.index(metric)]
        if direction is None or np.isnan(column).all():
            return None
        return float(np.nanmax(column) if direction else np.nanmin(column))

    def to_frame(self) -> pd.DataFrame:
        """The table in the compact format (``index``, ``arch_str``, metric columns)."""
        frame = pd.DataFrame(self.values, columns=self.names)
        frame.insert(0, ARCH_COLUMN, self.arch_strs)
        frame.insert(0, INDEX_COLUMN, self.indices)
        return frame


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int) -> MetricTable:
    return MetricTable.from_frame(read_frame(Path(path)), Path(path))


def read_frame(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet table; unreadable files are a ``UserError``."""
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        frame = pd.read_csv(path)
        if path.suffix.lower() == ".csv" and not _ends_with_newline(path):
            raise UserError(f"benchmark table {path} does not end with a line break, so its last line may be "
                            "cut off (a download cut short): download or export it again, or, if the file is "
                            f"whole, add the line break (echo >> {path}); {FORMAT_HINT}")
        return frame
    except ImportError:
        raise UserError(f"reading Parquet table {path} needs pyarrow: pip install 'nasbench[parquet]' "
                        "(or convert it to CSV)") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read benchmark table {path} ({reason}); {FORMAT_HINT}") from None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True  # an empty file gets pandas' own message
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) in (b"\n", b"\r")


def write_table(frame: pd.DataFrame, destination: Path) -> None:
    """Write the compact CSV atomically (a crash never leaves a half-written table behind)."""
    make_parent_folder(destination, "move it away, or set NASBENCH_HOME to another folder")
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(handle, 0o666 & ~umask)  # mkstemp's 0600 would hide the table from other users
        with os.fdopen(handle, "w", newline="") as stream:
            frame.to_csv(stream, index=False)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _arch_strings(column: pd.Series, path: Path) -> list[str]:
    if column.isna().any():
        row = int(column.isna().argmax())
        raise UserError(f"benchmark table {path}: '{ARCH_COLUMN}' is empty in row {row}; {FORMAT_HINT}")
    arch_strs = [str(value).strip() for value in column]
    invalid = [row for row, arch in enumerate(arch_strs) if not ARCH_PATTERN.match(arch)]
    if invalid:
        raise UserError(f"benchmark table {path}: {len(invalid)} row(s) hold no valid NAS-Bench-201 architecture "
                        f"string (first: row {invalid[0]}, '{arch_strs[invalid[0]][:60]}'; expected like "
                        f"'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'); {FORMAT_HINT}")
    duplicated = pd.Series(arch_strs).duplicated()
    if duplicated.any():
        raise UserError(f"benchmark table {path}: architecture {arch_strs[int(duplicated.argmax())]} appears twice; "
                        "each architecture must have one row")
    return arch_strs


def _indices(frame: pd.DataFrame, path: Path) -> list[int]:
    if INDEX_COLUMN not in frame.columns:
        return list(range(len(frame)))
    column = pd.to_numeric(frame[INDEX_COLUMN], errors="coerce")
    if column.isna().any() or not (column == column.round()).all():
        raise UserError(f"benchmark table {path}: '{INDEX_COLUMN}' must hold whole numbers (the official NB201 index)")
    if column.duplicated().any():
        raise UserError(f"benchmark table {path}: index {int(column[column.duplicated()].iloc[0])} appears twice")
    return [int(value) for value in column]

"""NB101 metrics per cell hash: built from the official records or NASLib's pickle, cached compactly.

Every architecture's runs (three per epoch budget in NB101) are averaged into one row:
``cifar10-nb101/{train,valid,test}_acc`` (percent) and ``cifar10-nb101/train_time`` (seconds) after
the full budget, suffixed ``@4``/``@12``/``@36`` for the shorter budgets of the full file
(108 epochs has no suffix), and ``cifar10-nb101/params`` (the official trainable-parameter
count). The dataset part is ``cifar10-nb101``, not ``cifar10``: NB101's split (40k train,
10k held-out validation, 10k test) and networks are its own, and a distinct key keeps its
columns apart from NAS-Bench-201's ``cifar10/test_acc`` in tables. The compact form is a
NumPy ``.npz`` (hashes as 32-byte ASCII, metric names, a float matrix; no pickles).
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import UserError

DATASET = "cifar10-nb101"
FULL_BUDGET = 108
RUN_KEYS = {"train_acc": "final_train_accuracy", "valid_acc": "final_validation_accuracy",
            "test_acc": "final_test_accuracy", "train_time": "final_training_time"}
"""Our metric → the official per-run key (accuracies are fractions there, percent here)."""
PARAMS = f"{DATASET}/params"


def metric_name(metric: str, epochs: int) -> str:
    return f"{DATASET}/{metric}" + ("" if epochs == FULL_BUDGET else f"@{epochs}")


@dataclass
class CellRecord:
    """What the official API keeps per hash: fixed statistics and the runs per epoch budget."""

    params: int
    runs: dict[int, list[Mapping[str, float]]] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        row = {PARAMS: float(self.params)}
        for epochs, runs in self.runs.items():
            for metric, key in RUN_KEYS.items():
                values = [float(run[key]) for run in runs]
                scale = 1.0 if metric == "train_time" else 100.0
                row[metric_name(metric, epochs)] = scale * sum(values) / len(values)
        return row


class NB101Table:
    """Mean metrics of every cell, looked up by the official hash."""

    def __init__(self, hashes: Sequence[str], names: Sequence[str], values: np.ndarray, path: Path) -> None:
        self.hashes = list(hashes)
        self.names = list(names)
        self.values = values
        self.path = path
        self._row = {h: i for i, h in enumerate(self.hashes)}

    @classmethod
    def from_cells(cls, cells: Mapping[str, CellRecord], path: Path) -> NB101Table:
        rows = {h: cell.metrics() for h, cell in cells.items()}
        names = sorted({name for row in rows.values() for name in row}, key=_metric_order)
        values = np.full((len(rows), len(names)), np.nan)
        for i, row in enumerate(rows.values()):
            for j, name in enumerate(names):
                values[i, j] = row.get(name, np.nan)
        return cls(list(rows), names, values, path)

    def __len__(self) -> int:
        return len(self.hashes)

    def metrics(self, module_hash: str) -> dict[str, float] | None:
        row = self._row.get(module_hash)
        if row is None:
            return None
        return {n: float(v) for n, v in zip(self.names, self.values[row]) if not math.isnan(v)}

    def metric_names(self) -> list[str]:
        return list(self.names)

    def optimum(self, metric: str) -> float | None:
        if metric not in self.names or not len(self):
            return None
        column = self.values[:, self.names.index(metric)]
        if np.isnan(column).all():
            return None
        kind = metric.split("/", 1)[-1].split("@", 1)[0]
        if kind.endswith("_acc"):
            return float(np.nanmax(column))
        if kind.endswith("_time"):
            return float(np.nanmin(column))
        return None

    def save(self, destination: Path) -> None:
        """Write the compact ``.npz`` atomically."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".npz")
        os.close(handle)
        try:
            np.savez_compressed(temporary, hashes=np.array(self.hashes, dtype="S32"),
                                names=np.array(self.names, dtype=str), values=self.values.astype(np.float64))
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load_compact(cls, path: Path) -> NB101Table:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls([h.decode("ascii") for h in data["hashes"]], [str(n) for n in data["names"]],
                           np.asarray(data["values"], dtype=np.float64), path)
        except (OSError, KeyError, ValueError, AttributeError) as exc:
            raise UserError(f"cannot read {path} as a compact NB101 table ({exc}); "
                            "import the official file again with `nasbench nb101 import FILE`") from None


def add_run(cells: dict[str, CellRecord], module_hash: str, params: int, epochs: int, run: Mapping[str, Any]) -> None:
    """Record one training run of a cell (the official API's loading step)."""
    cell = cells.setdefault(module_hash, CellRecord(int(params)))
    cell.runs.setdefault(int(epochs), []).append(run)


def _metric_order(name: str) -> tuple[int, str]:
    budget = int(name.split("@", 1)[1]) if "@" in name else FULL_BUDGET
    return (budget, name)



"""The experiment-logger contract: send a run's progress to a tracker (TensorBoard, W&B, MLflow, ...).

A logger sees every run of a command through the lifecycle hooks: ``start`` when a run
begins (its config is the run's hyper-parameters), ``epoch`` with each trajectory row
(per-epoch scalars), and ``end`` with the final record. One logger object serves all
runs of a command, one after another, so it keeps per-run state keyed by the run folder.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.api.run import RunContext


class RunLogger(ABC):
    """Writes runs to one tracker; ``root`` is the results folder (where local logs go by default)."""

    name: str = ""

    def __init__(self, root: Path) -> None:
        self.root = root

    @abstractmethod
    def start(self, run: RunContext) -> None:
        """A run begins (or resumes: ``run.resumed`` epochs were restored)."""

    @abstractmethod
    def epoch(self, run: RunContext, row: dict[str, Any]) -> None:
        """One trajectory row (``row["epoch"]`` is the step)."""

    @abstractmethod
    def end(self, run: RunContext, record: dict[str, Any]) -> None:
        """The final record (finished or failed); flush and close what belongs to this run."""


def run_name(run: RunContext) -> str:
    """``method/space-dataset/hash/seed-k``: the run folder below the results root, unique per run."""
    return "/".join(run.out_dir.parts[-4:])


def flat_items(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"search.lr": 0.025, ...}`` (lists kept as values)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flat_items(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def numeric_items(row: dict[str, Any]) -> dict[str, float]:
    """The entries of a trajectory row or of record metrics that are numbers (not NaN, not bools)."""
    return {key: float(value) for key, value in row.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value}

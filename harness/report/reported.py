"""What a paper reports, set beside the measured rows of a table.

A reported row names the measured row it belongs to (its label, and optionally its
dataset), where its numbers come from (``source``, e.g. "BaLeNAS, Table 1") and, per
metric column, the paper's mean and (where printed) std. Tables show it under the measured
row, marked as reported, with Δ = measured mean − reported mean, so a reader sees at once
how far a reproduction is from the claim. The report layer only receives these rows;
where they are declared (a suite file) is the experiment layer's business.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

REPORTED_MARK = "reported"


@dataclass(frozen=True)
class ReportedValue:
    """A paper's mean (and std, if it prints one) of one metric, in the metric's own units."""

    mean: float
    std: float | None = None


@dataclass(frozen=True)
class ReportedRow:
    """A paper's row for the measured row labelled ``label`` (on ``dataset``, or any)."""

    label: str
    source: str
    values: Mapping[str, ReportedValue]
    dataset: str | None = None
    runs: int | None = None
    """How many runs the paper averages, where it says."""

    def belongs_to(self, label: str, dataset: str) -> bool:
        return self.label == label and self.dataset in (None, dataset)

    @property
    def title(self) -> str:
        """The row's name in a table: the label it sits beside, marked as reported, and the source."""
        return f"{self.label} ({REPORTED_MARK}: {self.source})"


def difference(reported: ReportedValue, measured_mean: float) -> float:
    """Δ = measured − reported (NaN where nothing was measured)."""
    return measured_mean - reported.mean if math.isfinite(measured_mean) else math.nan


def placement(rows: pd.DataFrame, reported: Sequence[ReportedRow]) -> tuple[dict[int, list[ReportedRow]], list[ReportedRow]]:
    """Which reported rows go under which measured row (by position in ``rows``), and those
    that match no measured row (they are shown last, without Δ)."""
    under: dict[int, list[ReportedRow]] = {}
    alone: list[ReportedRow] = []
    for entry in reported:
        matched = [position for position, (label, dataset) in enumerate(zip(rows["label"], rows["dataset"]))
                   if entry.belongs_to(str(label), str(dataset))]
        for position in matched:
            under.setdefault(position, []).append(entry)
        if not matched:
            alone.append(entry)
    return under, alone


def other_dataset_notes(rows: pd.DataFrame, reported: Sequence[ReportedRow]) -> list[str]:
    """Why a paper's row whose label was measured, but only on other datasets, stands apart without Δ."""
    notes = []
    for entry in reported:
        datasets = sorted({str(d) for label, d in zip(rows["label"], rows["dataset"]) if str(label) == entry.label})
        if datasets and entry.dataset not in (None, *datasets):
            notes.append(f"'{entry.title}' is for {entry.dataset}, and '{entry.label}' was measured on "
                         f"{', '.join(datasets)}: it is shown apart, without Δ")
    return notes


def legend(reported: Sequence[ReportedRow]) -> list[str]:
    if not reported:
        return []
    sources = ", ".join(dict.fromkeys(entry.source for entry in reported))
    return [f"Rows marked ({REPORTED_MARK}: …) are the papers' numbers as printed ({sources}), not measured here; "
            "Δ = measured mean − reported mean."]

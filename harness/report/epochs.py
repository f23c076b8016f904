"""Per seed: the best epoch's architecture against the final one and the one the method chose.

The DARTS-family papers' failure is a *trajectory* fact: the supernet's argmax passes
through a good cell and ends in a skip-heavy one far below it. A mean±std table of the
final cells cannot show that, so this table puts, per seed, the best epoch (by a
benchmark accuracy looked up every epoch), the last epoch's argmax and the architecture
the method returned (a selector such as PT's may differ from the last argmax) side by side.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.api.errors import UserError
from harness.report.plots import accuracy_metric
from harness.report.tables import group_notes, markdown_grid
from harness.store.records import load_records, load_trajectories, no_trajectories

EPOCH_COLUMNS = ["label", "seed", "best_epoch", "best", "best_skip", "final_epoch", "final", "final_skip", "chosen",
                 "best_minus_final"]


def _skip(row: pd.Series) -> float:
    return float(row["skip_connect"]) if "skip_connect" in row and pd.notna(row["skip_connect"]) else float("nan")


def best_and_final(trajectories: pd.DataFrame, records: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per finished run: best epoch, final epoch and chosen architecture under ``metric``."""
    chosen = ({path: row.get(metric, float("nan")) for path, row in records.set_index("path").iterrows()}
              if len(records) else {})  # a trajectory-only column has no chosen value
    rows = []
    for (label, seed, path), run in trajectories.dropna(subset=[metric]).groupby(["label", "seed", "path"], sort=True):
        run = run.sort_values("epoch")
        best, final = run.loc[run[metric].idxmax()], run.iloc[-1]
        rows.append({"label": label, "seed": int(seed), "best_epoch": int(best["epoch"]), "best": float(best[metric]),
                     "best_skip": _skip(best), "final_epoch": int(final["epoch"]), "final": float(final[metric]),
                     "final_skip": _skip(final), "chosen": float(chosen.get(path, float("nan"))),
                     "best_minus_final": float(best[metric]) - float(final[metric])})
    return pd.DataFrame(rows, columns=EPOCH_COLUMNS)


def epoch_table(root: Path, metric: str | None = None, notes: list[str] | None = None) -> tuple[pd.DataFrame, str]:
    """The per-seed frame of every finished run under ``root`` and the metric it used."""
    trajectories = load_trajectories(root, notes)
    if trajectories.empty:
        raise UserError(no_trajectories(root))
    finished = trajectories[trajectories["status"].eq("finished")]
    column = accuracy_metric(finished, metric)
    if column is None:
        raise UserError("no per-epoch benchmark accuracy in the trajectories (no cheap benchmark was queried); "
                        "pass --metric COLUMN")
    records = load_records(root, notes=notes)
    frame = best_and_final(finished, records, column)
    if notes is not None and len(records):
        notes.extend(group_notes(records))
        absent = sorted(set(records["label"]) - set(frame["label"]))
        if absent:
            notes.append(f"{', '.join(absent)}: no per-epoch {column} (a method that searches nothing writes no "
                         "trajectory), so no rows here")
    return frame, column


def render_epochs(frame: pd.DataFrame, metric: str) -> str:
    """Markdown: one line per seed, then the mean per label."""
    def number(value: float, digits: int = 2) -> str:
        return "–" if pd.isna(value) else f"{value:.{digits}f}"

    body = [[row.label, str(row.seed), f"{row.best_epoch}: {number(row.best)} ({number(row.best_skip, 0)} skip)",
             f"{row.final_epoch}: {number(row.final)} ({number(row.final_skip, 0)} skip)", number(row.chosen),
             number(row.best_minus_final)] for row in frame.itertuples()]
    for label, runs in frame.groupby("label", sort=True):
        means = runs[["best", "best_skip", "final", "final_skip", "chosen", "best_minus_final"]].mean()
        body.append([f"**{label}** mean", str(len(runs)), f"{number(means.best)} ({number(means.best_skip, 1)} skip)",
                     f"{number(means.final)} ({number(means.final_skip, 1)} skip)", number(means.chosen),
                     number(means.best_minus_final)])
    header = ["Method", "seed", f"best epoch: {metric}", f"final epoch: {metric}", "chosen", "best − final"]
    return markdown_grid(header, body) + ("\nbest/final = the supernet's current architecture at that epoch "
                                                  "(skip = its skip_connect edges); chosen = what the method returned.\n")

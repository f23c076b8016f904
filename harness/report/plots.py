"""Trajectory plots over seeds: test accuracy, skip connections and Hessian eigenvalue per epoch.

These are the papers' diagnostic figures (DARTS collapse: accuracy falls while the
number of skip connections and the dominant Hessian eigenvalue grow). Each line is a
labelled method, the mean over its seeds, with a ±1 sample-std band. Figures are built
with matplotlib's object API (no pyplot state), rendered by Agg for PNG.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.api.errors import UserError
from harness.report.tables import group_notes, headline_metrics, metric_title, metric_titles
from harness.store.records import load_trajectories, no_trajectories
from harness.store.run_folder import write_problem

PLOT_FORMATS = ("png", "pdf", "svg")


@dataclass
class PlotReport:
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def accuracy_metric(trajectories: pd.DataFrame, metric: str | None = None) -> str | None:
    """The asked metric, else the benchmarks' first headline test accuracy (NB201: cifar10/test_acc),
    else the first ``*/test_acc`` column with values."""
    if metric is not None:
        available = [c for c in trajectories.columns if "/" in c and not c.startswith("opt/")
                     and pd.api.types.is_numeric_dtype(trajectories[c])]
        if metric not in available:
            raise UserError(f"metric '{metric}' is not a benchmark accuracy in the trajectories; available: "
                            f"{', '.join(available) or 'none'}")
        return metric
    test_accuracy = [c for c in trajectories.columns if re.fullmatch(r"[^/]+/test_acc", c)]
    candidates = [m for m in headline_metrics() if m.endswith("/test_acc")] + test_accuracy
    return next((c for c in candidates if c in trajectories and trajectories[c].notna().any()), None)


def band_figure(trajectories: pd.DataFrame, column: str, title: str, ylabel: str, log_y: bool = False) -> Figure:
    """Mean over seeds per label and epoch, with a ±1 std band (sample std, ddof=1)."""
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for name, runs in _lines(trajectories, column):
        per_epoch = runs.groupby("epoch")[column].agg(["mean", "std"])
        seeds = runs["seed"].nunique()
        line, = axes.plot(per_epoch.index, per_epoch["mean"], marker="o", markersize=3, label=f"{name} (n={seeds})")
        spread = per_epoch["std"].fillna(0.0)
        axes.fill_between(per_epoch.index, per_epoch["mean"] - spread, per_epoch["mean"] + spread,
                          color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(ylabel)
    if log_y:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend(title="mean ± std over seeds", fontsize="small")
    return figure


def _lines(trajectories: pd.DataFrame, column: str) -> Iterator[tuple[str, pd.DataFrame]]:
    """The runs of each plotted line: one per label (its method's name where a run has none)."""
    names = trajectories["label"].fillna(trajectories["method"]) if "label" in trajectories else trajectories["method"]
    yield from trajectories.assign(_name=names).dropna(subset=[column]).groupby("_name", sort=True)


def covered_lines(trajectories: pd.DataFrame, column: str) -> list[list[str]]:
    """Labels whose mean curves are the same, so that the line drawn last hides the others: a method
    that starts from another's kept supernet (DARTS-PT from DARTS') searches nothing of its own."""
    curves: dict[tuple, list[str]] = {}
    for name, runs in _lines(trajectories, column):
        curves.setdefault(tuple(runs.groupby("epoch")[column].mean().items()), []).append(str(name))
    return [names for names in curves.values() if len(names) > 1]


def _save(figure: Figure, stem: Path, formats: list[str]) -> list[Path]:
    paths = [stem.with_suffix(f".{fmt}") for fmt in formats]
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        for path in paths:
            figure.savefig(path, dpi=150)
    except OSError as exc:
        raise write_problem(stem.parent, exc) from None
    return paths


SIGMA_COLUMN = "opt/sigma_mean"
"""BaLeNAS' mean posterior std of α: whether the distribution contracts is its first health check."""


def _figures(trajectories: pd.DataFrame, where: str, metric: str | None, columns: list[str],
             error: bool) -> tuple[dict[str, Figure], list[str]]:
    figures, notes = {}, []
    accuracy = accuracy_metric(trajectories, metric)
    if accuracy is None:
        notes.append(f"{where}: no per-epoch test accuracy in the trajectories (no cheap benchmark was queried); "
                     "test-accuracy plot skipped")
    elif error:
        name = f"{metric_title(accuracy, metric_titles())} error (%)"
        errors = trajectories.assign(**{name: 100.0 - trajectories[accuracy]})
        figures["error"] = band_figure(errors, name, f"Error of the current architecture ({where})", name, log_y=True)
    else:
        figures["test_accuracy"] = band_figure(trajectories, accuracy, f"Test accuracy of the current architecture ({where})",
                                               f"{metric_title(accuracy, metric_titles())} accuracy (%)")
    if accuracy is not None:
        notes += [f"{where}: {' and '.join(names)} have the same {accuracy} in every epoch (one starts from the "
                  "other's kept supernet), so one line covers the other" for names in covered_lines(trajectories, accuracy)]
    if "skip_connect" in trajectories and trajectories["skip_connect"].notna().any():
        figures["skip_connect"] = band_figure(trajectories, "skip_connect", f"Skip connections in the current architecture ({where})",
                                              "number of skip_connect edges")
    if "hessian_eigenvalue" in trajectories and trajectories["hessian_eigenvalue"].notna().any():
        figures["hessian_eigenvalue"] = band_figure(trajectories, "hessian_eigenvalue",
                                                    rf"Dominant Hessian eigenvalue of $\mathcal{{L}}_{{val}}$ w.r.t. $\alpha$ ({where})",
                                                    r"dominant eigenvalue of $\nabla^2_\alpha \mathcal{L}_{val}$")
    wanted = columns + ([SIGMA_COLUMN] if SIGMA_COLUMN not in columns else [])
    for column in wanted:
        if column in trajectories and not pd.api.types.is_numeric_dtype(trajectories[column]):
            notes.append(f"{where}: '{column}' holds no numbers; its plot skipped")
        elif column in trajectories and trajectories[column].notna().any():
            figures[column.replace("/", "-")] = band_figure(trajectories, column, f"{column} per epoch ({where})", column)
        elif column in columns:
            notes.append(f"{where}: no values of '{column}' in the trajectories; its plot skipped")
    return figures, notes


def plot_results(root: Path, output_dir: Path, formats: list[str] | None = None, metric: str | None = None,
                 columns: list[str] | None = None, error: bool = False) -> PlotReport:
    """Write the trajectory figures of every finished run under ``root``; one set per space and dataset.

    ``columns`` are further trajectory columns to plot (e.g. ``opt/max_prob_mean``);
    BaLeNAS' ``opt/sigma_mean`` is plotted whenever present. ``error`` plots 100 − the
    accuracy on a log axis instead of the accuracy (BaLeNAS Figure 1, NAS-Bench-1Shot1's
    figures)."""
    formats = formats or ["png", "pdf"]
    unknown = [f for f in formats if f not in PLOT_FORMATS]
    if unknown:
        raise UserError(f"unknown plot format(s) {', '.join(unknown)}; known: {', '.join(PLOT_FORMATS)}")
    report = PlotReport()
    trajectories = load_trajectories(root, report.notes)
    if trajectories.empty:
        raise UserError(no_trajectories(root) + (f" ({report.notes[0]})" if report.notes else ""))
    finished = trajectories[trajectories["status"].eq("finished")]
    failed_runs = trajectories[~trajectories["status"].eq("finished")].groupby(["method", "space", "dataset", "seed"]).ngroups
    if failed_runs:
        report.notes.append(f"{failed_runs} failed run(s) left out of the plots")
    if finished.empty:
        raise UserError(f"every run under {root} failed; nothing to plot")
    runs = finished.drop_duplicates("path")
    report.notes += group_notes(runs.assign(config_hash=[Path(path).parent.name for path in runs["path"]]))
    combinations = finished.groupby(["space", "dataset"], sort=True)
    for (space, dataset), runs in combinations:
        where = f"{space}-{dataset}"
        figures, notes = _figures(runs, where, metric, columns or [], error)
        report.notes += notes
        suffix = f"-{where}" if combinations.ngroups > 1 else ""
        for name, figure in figures.items():
            report.files += _save(figure, output_dir / f"{name}{suffix}", formats)
    return report

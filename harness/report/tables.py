"""Paper tables from run records: one row per labelled method, one column per metric.

Cells are ``mean±std`` over seeds (sample std, ddof=1) with Student-t 95% confidence
intervals; ``--vs REF`` adds Welch's t-test and Mann-Whitney U p-values against the
reference row of the same space and dataset. Failed runs never enter the statistics
but are counted in a note, so a method that diverges on some seeds cannot look better
than it is without the reader knowing. What a paper reports (``harness.report.reported``)
can be shown under the measured rows, marked as reported, with the difference.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.api.benchmarks import BenchmarkUnavailable
from harness.api.errors import UserError
from harness.plugin.manager import Plugins, get_plugins
from harness.report.formats import FORMATS
from harness.report.reported import ReportedRow, ReportedValue, difference, legend, other_dataset_notes, placement
from harness.report.settings import settings_difference
from harness.report.stats import CONFIDENCE, mann_whitney_p, summarize, welch_p

KEYS = ["label", "method", "space", "dataset"]
"""What identifies a table row (and a baseline entry)."""

BASELINE_COLUMNS = [*KEYS, "metric", "seed", "value"]
SIGNIFICANCE = 0.05
WELCH_MARK, MANN_WHITNEY_MARK = "†", "‡"
OPTIMIZER_PREFIX = "optimizer/"
KEY_TITLES = {"label": "Method", "method": "Preset", "space": "Space", "dataset": "Dataset"}
STD_NOTE = "mean±std over seeds (sample std, ddof=1)"


@dataclass(frozen=True)
class Column:
    """One statistic column: a record field and how to show it."""

    key: str
    title: str
    kind: str
    """``metric`` (benchmark), ``optimizer`` (final optimizer summary), ``cost`` or ``throughput``."""

    @property
    def measure(self) -> str:
        """``acc`` of ``cifar10/test_acc`` and of ``cifar10/test_acc@12`` (a budget suffix)."""
        return self.key.rsplit("/", 1)[-1].partition("@")[0].rsplit("_", 1)[-1]

    @property
    def higher_is_better(self) -> bool | None:
        """Direction of "best" for bold cells; None where there is no such thing (σ statistics)."""
        if self.kind != "metric":
            return None
        return {"acc": True, "accuracy": True, "loss": False, "err": False, "error": False}.get(self.measure)

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The range a mean of this metric lies in: accuracies are percentages."""
        return (0.0, 100.0) if self.kind == "metric" and self.measure in ("acc", "accuracy") else None

    @property
    def has_spread(self) -> bool:
        return self.kind in ("metric", "optimizer")


@dataclass
class Table:
    """Everything a renderer needs; ``cells`` is tidy (one row per table row × column)."""

    rows: pd.DataFrame
    columns: list[Column]
    cells: pd.DataFrame
    shown_keys: list[str]
    reference: str | None = None
    optimal: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reported: list[ReportedRow] = field(default_factory=list)
    """Papers' rows, shown under the measured row they name (see ``harness.report.reported``)."""

    def __post_init__(self) -> None:
        self._index = self.cells.set_index([*KEYS, "column"])

    def cell(self, row: pd.Series, column: Column) -> pd.Series:
        return self._index.loc[tuple(row[KEYS]) + (column.key,)]


def split_records(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(finished, failed) runs, with ``label`` filled from ``method`` and key columns as text."""
    frame = records.copy()
    for key in ("method", "space", "dataset"):
        frame[key] = frame[key].fillna("").astype(str) if key in frame else ""
    frame["label"] = frame["label"].fillna(frame["method"]).astype(str) if "label" in frame else frame["method"]
    finished = frame["status"].eq("finished") if "status" in frame else pd.Series(True, index=frame.index)
    return frame[finished], frame[~finished]


def _is_metric(name: str) -> bool:
    return "/" in name and not name.startswith(OPTIMIZER_PREFIX)


def _benchmark_classes(plugins: Plugins | None) -> list[Any]:
    registry = (plugins or get_plugins())["benchmark"]
    return [entry.factory for entry in registry.entries()]


def headline_metrics(plugins: Plugins | None = None) -> list[str]:
    """Every registered benchmark's declared headline metrics, in registration-name order."""
    metrics: list[str] = []
    for factory in _benchmark_classes(plugins):
        metrics += [m for m in getattr(factory, "headline", ()) if m not in metrics]
    return metrics


def metric_titles(plugins: Plugins | None = None) -> dict[str, str]:
    """Column titles the registered benchmarks declare for their metrics."""
    titles: dict[str, str] = {}
    for factory in _benchmark_classes(plugins):
        titles.update(getattr(factory, "titles", {}) or {})
    return titles


def default_metrics(records: pd.DataFrame, plugins: Plugins | None = None) -> list[str]:
    """The benchmarks' headline columns present, then the ``<dataset>/test_acc`` of datasets no headline
    covers (e.g. retrain's ``digits/test_acc``; NB201's ``cifar10-valid/test_acc`` is not a paper column)."""
    present = [c for c in records.columns if records[c].notna().any()]
    declared = headline_metrics(plugins)
    headline = [m for m in declared if m in present]
    covered = {m.partition("/")[0] for m in declared}
    others = sorted(c for c in present if _is_metric(c) and c not in headline
                    and re.fullmatch(r"[^/]+/test_acc", c) and c.partition("/")[0] not in covered)
    return headline + others


def metric_title(key: str, titles: Mapping[str, str] | None = None) -> str:
    if titles and key in titles:
        return titles[key]
    if key.startswith(OPTIMIZER_PREFIX):
        return key[len(OPTIMIZER_PREFIX):]
    dataset, _, name = key.partition("/")
    split, _, measure = name.rpartition("_")
    return f"{dataset} {split}" if measure == "acc" and split else key


def table_columns(records: pd.DataFrame, metrics: list[str] | None = None, extra_columns: bool = False,
                  plugins: Plugins | None = None) -> list[Column]:
    """Metric columns (asked for, or the defaults), optimizer summaries, then search cost and images/s."""
    if metrics:
        available = sorted(c for c in records.columns if "/" in c)
        unknown = [m for m in metrics if m not in records.columns]
        if unknown:
            raise UserError(f"metric(s) {', '.join(unknown)} not in the records; available: {', '.join(available) or 'none'}")
        keys = list(metrics)
    else:
        keys = default_metrics(records, plugins)
    if extra_columns:
        keys += sorted(c for c in records.columns if c.startswith(OPTIMIZER_PREFIX) and c not in keys)
    titles = metric_titles(plugins)
    columns = [Column(k, metric_title(k, titles), "optimizer" if k.startswith(OPTIMIZER_PREFIX) else "metric")
               for k in keys]
    if "search_seconds" in records:
        columns.append(Column("search_seconds", "Search (s)", "cost"))
    if "selection_seconds" in records and records["selection_seconds"].fillna(0).gt(1.0).any():
        columns.append(Column("selection_seconds", "Selection (s)", "cost"))
    if "images_per_second" in records:
        columns.append(Column("images_per_second", "images/s", "throughput"))
    return columns


def benchmark_optima(records: pd.DataFrame, metrics: list[str], benchmark_file: Path | None = None,
                     plugins: Plugins | None = None) -> tuple[dict[str, float], list[str]]:
    """Best value of each metric over the whole space, for the ``optimal`` row, plus notes.

    Asked of every registered benchmark that declares one of ``metrics`` as a headline
    metric and covers a space of the records; ``benchmark_file`` goes to those that take a
    ``file`` option. An unconfigured benchmark is a note, not an error, unless the user
    named the file.
    """
    loaded = plugins or get_plugins()
    spaces = [loaded["search space"].create(name) for name in sorted(set(records.get("space", pd.Series(dtype=str))))
              if name in loaded["search space"]]
    optima: dict[str, float] = {}
    notes: list[str] = []
    for entry in loaded["benchmark"].entries():
        wanted = [m for m in metrics if m in getattr(entry.factory, "headline", ()) and m not in optima]
        if not wanted or not spaces:
            continue
        takes_file = entry.options is not None and "file" in entry.options.model_fields
        options = {"file": str(benchmark_file)} if benchmark_file and takes_file else {}
        try:
            benchmark = loaded["benchmark"].create(entry.name, options, None)
        except BenchmarkUnavailable as exc:
            if options:
                raise
            notes.append(f"optimal row skipped: {exc.message}")
            continue
        if any(benchmark.supports(space) for space in spaces):
            found = {m: benchmark.optimum(m) for m in wanted}
            optima.update({m: float(v) for m, v in found.items() if v is not None})
    return optima, notes


def add_optimal_row(table: Table, records: pd.DataFrame, benchmark_file: Path | None = None) -> None:
    """The benchmarks' best value per metric column of ``table`` (its ``optimal`` row), and their notes."""
    wanted = [column.key for column in table.columns if column.kind == "metric"]
    table.optimal, notes = benchmark_optima(records, wanted, benchmark_file)
    table.notes += notes


def failure_notes(failed: pd.DataFrame) -> list[str]:
    if failed.empty:
        return []
    parts = []
    for _, run in failed.iterrows():
        reason = run.get("failure") if isinstance(run.get("failure"), str) else run.get("status", "failed")
        parts.append(f"{run['label']} ({run['space']}-{run['dataset']}) seed {run.get('seed', '?')}: {reason}")
    plural = "run" if len(failed) == 1 else "runs"
    return [f"{len(failed)} failed {plural} excluded: " + "; ".join(parts)]


ENVIRONMENT_COLUMNS = ("versions.nasbench", "versions.torch", "versions.cuda", "device")
"""What a row's seeds must share for their results to be comparable to the last digit."""


def group_notes(finished: pd.DataFrame) -> list[str]:
    """Rows that silently merge different experiments, or one experiment computed in different
    environments (merged results folders), are worth a warning."""
    notes = []
    for key, group in finished.groupby(KEYS, sort=True):
        name = f"'{key[0]}' ({key[2]}-{key[3]})"
        if "config_hash" in group and group["config_hash"].nunique() > 1:
            firsts = group.drop_duplicates("config_hash").sort_values("config_hash")
            differ = settings_difference([Path(path) for path in firsts["path"]]) if "path" in group else None
            notes.append(f"row {name} merges {len(firsts)} configurations ({', '.join(map(str, firsts['config_hash']))})"
                         f"{f' that differ in {differ}' if differ else ''}; give them distinct labels (--label), or "
                         "tabulate their folders apart")
        if "seed" in group and group["seed"].duplicated().any():
            repeated = sorted(int(seed) for seed in group["seed"][group["seed"].duplicated()].unique())
            notes.append(f"row {name} has repeated seeds {', '.join(map(str, repeated))}")
        mixed = [f"{column.split('.')[-1]} {', '.join(sorted(map(str, group[column].dropna().unique())))}"
                 for column in ENVIRONMENT_COLUMNS if column in group and group[column].nunique() > 1]
        if mixed:
            notes.append(f"row {name} mixes seeds computed with {'; '.join(mixed)}")
    return notes


def build_table(records: pd.DataFrame, metrics: list[str] | None = None, vs: str | None = None,
                optimal: Mapping[str, float] | None = None, extra_columns: bool = False,
                plugins: Plugins | None = None, reported: Sequence[ReportedRow] = ()) -> Table:
    """Summaries per row and column, significance against ``vs``, and notes for the reader.

    Default columns and their titles come from the benchmarks registered in ``plugins``;
    ``reported`` rows are shown beside the measured rows they name.
    """
    if records.empty:
        raise UserError("no run records to tabulate; run `nasbench run ...` first or check the results folder")
    finished, failed = split_records(records)
    if finished.empty:
        raise UserError(f"all {len(failed)} runs failed; nothing to tabulate ({failure_notes(failed)[0]}); a failed "
                        "seed stays failed until `nasbench run` is given --retry-failed")
    columns = table_columns(finished, metrics, extra_columns, plugins)
    if not columns:
        raise UserError("the records have no metrics, search cost or throughput to tabulate")
    notes = failure_notes(failed) + group_notes(finished)
    if vs is not None and not finished["label"].eq(vs).any():
        raise UserError(f"--vs {vs}: no finished runs labelled '{vs}'; labels: {', '.join(sorted(finished['label'].unique()))}")
    order = finished.assign(_ref=~finished["label"].eq(vs)).sort_values(["space", "dataset", "_ref", "label", "method"])
    groups = order.groupby(KEYS, sort=False)
    rows = groups.size().rename("runs").reset_index()
    cells = []
    cut_intervals = False
    for key, group in groups:
        row = dict(zip(KEYS, key))
        reference = finished[finished["label"].eq(vs) & finished["space"].eq(row["space"])
                             & finished["dataset"].eq(row["dataset"])]
        compare = vs is not None and row["label"] != vs and not reference.empty
        for column in columns:
            summary = summarize(group[column.key])
            low, high = summary.ci_low, summary.ci_high
            cut = False
            if column.bounds is not None and (low < column.bounds[0] or high > column.bounds[1]):
                low, high = max(low, column.bounds[0]), min(high, column.bounds[1])
                cut = cut_intervals = True
            tested = compare and column.kind == "metric"
            observed = np.isfinite(pd.to_numeric(group[column.key], errors="coerce").to_numpy(dtype=float))
            seeds = sorted(int(seed) for seed in group["seed"][observed])  # the n seeds summarized
            cells.append({
                **row, "column": column.key, "title": column.title, "kind": column.kind,
                "n": summary.n, "seeds": " ".join(map(str, seeds)), "mean": summary.mean, "std": summary.std,
                "ci95_low": low, "ci95_high": high, "ci95_cut": cut,
                "welch_p": welch_p(group[column.key], reference[column.key]) if tested else math.nan,
                "mannwhitney_p": mann_whitney_p(group[column.key], reference[column.key]) if tested else math.nan,
            })
    if cut_intervals:  # μ lies in [0, 100], so cutting the interval there keeps its coverage
        notes.append(f"{CONFIDENCE:.0%} intervals of accuracies are cut at 0 and 100 where the Student-t interval "
                     "of few seeds reached past them")
    if vs is not None:
        for space, dataset in rows[["space", "dataset"]].drop_duplicates().itertuples(index=False):
            if not ((rows["label"] == vs) & (rows["space"] == space) & (rows["dataset"] == dataset)).any():
                notes.append(f"no '{vs}' runs on {space}-{dataset}: its rows have no p-values")
    metric_keys = {c.key for c in columns if c.kind == "metric"}
    best = {k: float(v) for k, v in (optimal or {}).items() if k in metric_keys and v is not None}
    shown = {c.key for c in columns}
    missing = sorted({metric for entry in reported for metric in entry.values} - shown)
    if missing:
        notes.append(f"reported {', '.join(missing)} not shown: no such column in this table")
    notes += other_dataset_notes(rows, reported)
    return Table(rows, columns, pd.DataFrame(cells), _shown_keys(rows), vs, best, notes, list(reported))


def _shown_keys(rows: pd.DataFrame) -> list[str]:
    """The label always; the preset, space and dataset only where they tell rows apart."""
    shown = ["label"]
    if rows.groupby("label")["method"].nunique().gt(1).any():
        shown.append("method")
    return shown + [key for key in ("space", "dataset") if rows[key].nunique() > 1]


def _number(value: float, column: Column, scale: float | None = None) -> str:
    """Accuracies with 2 decimals; optimizer statistics with 4 significant digits of ``scale``
    (the cell's mean), so that a mean and its std share one number of decimals."""
    if column.kind == "metric":
        return f"{value:.2f}"
    if column.kind == "optimizer":
        magnitude = abs(scale if scale is not None else value)
        decimals = 4 if magnitude == 0 or not math.isfinite(magnitude) else 3 - math.floor(math.log10(magnitude))
        return f"{value:.{min(max(decimals, 0), 8)}f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _marks(cell: pd.Series) -> tuple[bool, bool]:
    return bool(cell["welch_p"] < SIGNIFICANCE), bool(cell["mannwhitney_p"] < SIGNIFICANCE)


def _cell_text(cell: pd.Series, column: Column, runs: int) -> str:
    if cell["n"] == 0:
        return "–"
    text = _number(cell["mean"], column)
    if column.has_spread and not math.isnan(cell["std"]):
        text += "±" + _number(cell["std"], column, scale=cell["mean"])
    if column.has_spread and cell["n"] < runs:
        text += f" (n={cell['n']})"
    return text


def _best_means(table: Table) -> dict[str, str]:
    """Per column, the best displayed mean (ties by the printed value are all bold)."""
    best = {}
    for column in table.columns:
        if column.higher_is_better is None:
            continue
        values = table.cells[(table.cells["column"] == column.key) & (table.cells["n"] > 0)]["mean"]
        if not values.empty:
            best[column.key] = _number(values.max() if column.higher_is_better else values.min(), column)
    return best


def _legend(table: Table) -> list[str]:
    lines = [f"Cells: {STD_NOTE}; n = finished seeds; search cost = mean search_seconds (selection = mean "
             "selection_seconds, shown when a selector took longer than 1 s); images/s = mean search throughput."]
    if table.reference:
        lines.append(f"{WELCH_MARK} Welch's t-test, {MANN_WHITNEY_MARK} Mann–Whitney U (two-sided): "
                     f"p < {SIGNIFICANCE} vs {table.reference} on the same space and dataset.")
    return lines + legend(table.reported)


def markdown_grid(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """A GitHub-flavoured Markdown table; the first ``left`` columns are left-aligned."""
    align = [":--" if i < left else "--:" for i in range(len(header))]
    lines = [header, align, *body]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in lines)


def _key_cells(table: Table, row: pd.Series) -> list[str]:
    return [str(row[key]) for key in table.shown_keys]


def _optimal_cells(table: Table) -> list[str]:
    return [_number(table.optimal[c.key], c) if c.key in table.optimal else "" for c in table.columns]


def _reported_text(value: ReportedValue | None, column: Column, measured: float | None) -> str:
    """``mean±std`` as the paper prints it, then ``(Δ ±x)`` against the measured mean."""
    if value is None:
        return ""
    text = _number(value.mean, column)
    if value.std is not None:
        text += "±" + _number(value.std, column, scale=value.mean)
    delta = difference(value, measured) if measured is not None else math.nan
    return text + (f" (Δ {delta:+.2f})" if math.isfinite(delta) else "")


def _reported_lines(table: Table) -> list[tuple[pd.Series | None, ReportedRow | None]]:
    """Every table line in order: measured rows (with ``None``), each followed by its reported rows."""
    metrics = {c.key for c in table.columns if c.kind == "metric"}
    under, alone = placement(table.rows, [entry for entry in table.reported if metrics & set(entry.values)])
    lines: list[tuple[pd.Series | None, ReportedRow | None]] = []
    for position, (_, row) in enumerate(table.rows.iterrows()):
        lines.append((row, None))
        lines += [(row, entry) for entry in under.get(position, [])]
    return lines + [(None, entry) for entry in alone]


def _reported_row_cells(table: Table, row: pd.Series | None, entry: ReportedRow) -> list[str]:
    """Key cells, n and value cells of a reported line (``row``: the measured row it sits under)."""
    keys = [entry.title]
    for key in table.shown_keys[1:]:
        if row is not None:
            keys.append(str(row[key]))
        else:
            keys.append(entry.dataset or "" if key == "dataset" else "")
    cells = [_reported_text(entry.values.get(column.key), column,
                            None if row is None else float(table.cell(row, column)["mean"]))
             if column.kind == "metric" else "" for column in table.columns]
    return keys + ["" if entry.runs is None else str(entry.runs)] + cells


def to_markdown(table: Table) -> str:
    header = [KEY_TITLES[k] for k in table.shown_keys] + ["n"] + [c.title for c in table.columns]
    body = []
    for row, entry in _reported_lines(table):
        if entry is not None:
            body.append(_reported_row_cells(table, row, entry))
            continue
        assert row is not None
        cells = []
        for column in table.columns:
            cell = table.cell(row, column)
            welch, mwu = _marks(cell)
            cells.append(_cell_text(cell, column, row["runs"]) + (" " if welch or mwu else "")
                         + (WELCH_MARK if welch else "") + (MANN_WHITNEY_MARK if mwu else ""))
        body.append(_key_cells(table, row) + [str(row["runs"])] + cells)
    if table.optimal:
        body.append(["optimal"] + [""] * len(table.shown_keys) + _optimal_cells(table))
    parts = [markdown_grid(header, body, len(table.shown_keys)), "", *_legend(table)]
    spread = [c for c in table.columns if c.has_spread]
    if spread and (table.cells["n"] > 1).any():
        ci_body = [_key_cells(table, row) + [_interval(table.cell(row, c), c) for c in spread]
                   for _, row in table.rows.iterrows()]
        parts += ["", f"{CONFIDENCE:.0%} confidence intervals (Student t):", "",
                  markdown_grid([KEY_TITLES[k] for k in table.shown_keys] + [c.title for c in spread],
                                ci_body, len(table.shown_keys))]
    tested = [c for c in table.columns if c.kind == "metric"]
    p_body = ([_key_cells(table, row) + [_p_pair(table.cell(row, c)) for c in tested]
               for _, row in table.rows.iterrows() if row["label"] != table.reference]
              if table.reference and tested else [])
    if p_body:  # none when the reference is the only method
        parts += ["", f"p-values vs {table.reference} (Welch t / Mann–Whitney U, two-sided):", "",
                  markdown_grid([KEY_TITLES[k] for k in table.shown_keys] + [c.title for c in tested],
                                p_body, len(table.shown_keys))]
    parts += [f"\nNote: {note}" for note in table.notes]
    return "\n".join(parts) + "\n"


def _interval(cell: pd.Series, column: Column) -> str:
    if math.isnan(cell["ci95_low"]):
        return "–"
    return f"[{_number(cell['ci95_low'], column, cell['mean'])}, {_number(cell['ci95_high'], column, cell['mean'])}]"


def _p_text(p: float) -> str:
    return "–" if math.isnan(p) else f"{p:.3g}"


def _p_pair(cell: pd.Series) -> str:
    return f"{_p_text(cell['welch_p'])} / {_p_text(cell['mannwhitney_p'])}"


LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                 "~": r"\textasciitilde{}", "<": "$<$", ">": "$>$", "±": r"$\pm$", "–": "--", "−": "$-$", "—": "---",
                 "Δ": r"$\Delta$", "…": r"\ldots{}", "σ": r"$\sigma$", "α": r"$\alpha$", "μ": r"$\mu$",
                 WELCH_MARK: r"$^{\dagger}$", MANN_WHITNEY_MARK: r"$^{\ddagger}$"}


NEGATIVE_NUMBER = re.compile(r"(?<![\w.])-(?=\d)")
"""A hyphen that is a minus sign (``-5.76``, not ``nb201-1``): text mode would set it as a hyphen."""


def latex_escape(text: str) -> str:
    """Text (labels, titles, notes) made safe for LaTeX, in ASCII (pdflatex refuses other characters
    it has no definition for); ±, minus signs and the significance marks become math."""
    return "".join(LATEX_SPECIAL.get(char, char) for char in NEGATIVE_NUMBER.sub("\u2212", str(text)))


def to_latex(table: Table) -> str:
    """A booktabs table with the best mean of each accuracy column in bold."""
    best = _best_means(table)
    keys = len(table.shown_keys)
    lines = []
    caption = latex_escape(" ".join(_legend(table)))
    header = [KEY_TITLES[k] for k in table.shown_keys] + ["n"] + [c.title for c in table.columns]
    lines += [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}",
              r"\begin{tabular}{" + "l" * keys + "r" * (len(header) - keys) + "}", r"\toprule",
              " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule"]
    for row, entry in _reported_lines(table):
        if entry is not None:
            lines.append(r"\textit{" + " & ".join(latex_escape(c) for c in _reported_row_cells(table, row, entry))
                         .replace(" & ", r"} & \textit{") + r"} \\")
            continue
        assert row is not None
        cells = []
        for column in table.columns:
            cell = table.cell(row, column)
            text = latex_escape(_cell_text(cell, column, row["runs"]))
            if cell["n"] > 0 and best.get(column.key) == _number(cell["mean"], column):
                text = rf"\textbf{{{text}}}"
            welch, mwu = _marks(cell)
            marks = (r"\dagger" if welch else "") + (r"\ddagger" if mwu else "")
            cells.append(text + (f"$^{{{marks}}}$" if marks else ""))
        lines.append(" & ".join([latex_escape(c) for c in _key_cells(table, row)] + [str(row["runs"])] + cells) + r" \\")
    if table.optimal:
        lines += [r"\midrule", " & ".join(["optimal"] + [""] * keys + _optimal_cells(table)) + r" \\"]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [r"\par\footnotesize Note: " + latex_escape(note) for note in table.notes]  # under the table, not hidden
    lines += [r"\end{table}"]
    return "\n".join(lines) + "\n"


def _reported_frame(table: Table) -> pd.DataFrame:
    """Reported cells in the tidy layout: ``reported`` names the source, ``diff`` is measured − reported."""
    records = []
    for row, entry in _reported_lines(table):
        if entry is None:
            continue
        for column in table.columns:
            value = entry.values.get(column.key)
            if value is None or column.kind != "metric":
                continue
            measured = math.nan if row is None else float(table.cell(row, column)["mean"])
            keys = {key: "" if row is None else row[key] for key in KEYS}
            keys.update(label=entry.label, dataset=keys["dataset"] or entry.dataset or "")
            records.append({**keys, "column": column.key, "title": column.title, "kind": column.kind,
                            "n": entry.runs, "mean": value.mean, "std": value.std, "reported": entry.source,
                            "measured_mean": measured, "diff": difference(value, measured)})
    return pd.DataFrame(records)


def tidy_frame(table: Table) -> pd.DataFrame:
    """The cells, the reported rows and the optimal row, as stored in CSV/JSON (one row per
    table row × column)."""
    optimal = [{"label": "optimal", "method": "", "space": "", "dataset": "", "column": c.key, "title": c.title,
                "kind": c.kind, "n": 0, "mean": table.optimal[c.key]}
               for c in table.columns if c.key in table.optimal]
    parts = [table.cells, _reported_frame(table), pd.DataFrame(optimal)]
    frame = pd.concat([part for part in parts if not part.empty], ignore_index=True)
    if "n" in frame:  # a reported row without a seed count would turn every count into a float (3.0)
        frame["n"] = frame["n"].astype("Int64")
    return frame


def to_json(table: Table) -> str:
    frame = tidy_frame(table).astype(object)
    payload: dict[str, Any] = {
        "std": "sample standard deviation (ddof=1)",
        "confidence_interval": f"{CONFIDENCE:.0%} Student t",
        "reference": table.reference,
        "tests": "Welch's t-test and Mann-Whitney U, two-sided" if table.reference else None,
        "optimal": table.optimal,
        "notes": table.notes,
        "cells": frame.where(frame.notna(), None).to_dict(orient="records"),
    }
    return json.dumps(payload, indent=2) + "\n"


def baseline_frame(records: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Per-seed values of the table's metric columns: what ``nasbench regress`` tests against."""
    if records.empty:
        raise UserError("no run records to write into a baseline; run the suite first or check the results folder")
    finished, _ = split_records(records)
    keys = [c.key for c in table_columns(finished, metrics) if c.kind == "metric"]
    if not keys:
        raise UserError("no metric columns to write into a baseline; pass --metrics")
    long = finished.melt(id_vars=[*KEYS, "seed"], value_vars=keys, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).sort_values([*KEYS, "metric", "seed"])[BASELINE_COLUMNS]


def render(table: Table, fmt: str) -> str:
    renderers = {"markdown": to_markdown, "latex": to_latex, "json": to_json,
                 "csv": lambda t: tidy_frame(t).to_csv(index=False)}
    if fmt not in renderers:
        raise UserError(f"unknown table format '{fmt}'; known: {', '.join(FORMATS)}")
    return renderers[fmt](table)

"""Declarative experiment suites: a TOML file expands into labelled runs, then one table.

The format (``benchmarks/<name>.toml``)::

    [suite]
    name = "..."; description = "..."; seeds = [0, 1, 2]; dataset = "cifar10"
    device = "cpu"          # optional default for --device
    reference = "darts"     # optional: significance of every row vs this label
    [suite.set]             # dotted partial-config overrides for every run
    "search.epochs" = 50
    [[grid]]                # methods x datasets, with these overrides
    methods = ["darts", "balenas"]
    datasets = ["cifar10"]  # optional, else suite.dataset
    label = "{method}-s{samples}"   # {method}, {dataset}, or a [grid.set] key by its last dotted part
    [grid.set]
    "optimizer.options.samples" = 3
    [[reported]]            # optional, repeatable: what a paper reports for one grid label
    label = "BaLeNAS (1st)"         # the measured row it sits beside (a label of this suite)
    source = "BaLeNAS, Table 1"     # where the numbers come from: paper and table
    runs = 4                        # optional: runs the paper averages, where it says
    dataset = "cifar10"             # optional: only beside this dataset's row (default: any)
    [reported.values]               # metric key → the paper's numbers, copied as printed
    "cifar10/test_acc" = { mean = 93.62, std = 0.12 }
    "cifar100/test_acc" = { mean = 70.98 }          # std where the paper prints one
    # "cifar10/test_acc" = { error = 45.7 }         # a test error in %: shown as 100 − error

Precedence: suite.set < grid.set < ``--set`` on the command line. Every name is checked
against the plugin registries before the first run starts, so a typo does not surface
an hour into a suite. ``nasbench suite`` and ``nasbench table RESULTS --reported FILE``
show the reported rows under their measured rows, marked as reported, with the
difference measured − reported.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.api.errors import UserError
from harness.api.executors import Task
from harness.engine.devices import resolve_device
from harness.experiment.checks import resolve_config
from harness.experiment.config import merge
from harness.experiment.execute import execute
from harness.experiment.seed_runs import check_data_dir
from harness.experiment.seeds import MAX_SEED, repeated_seeds
from harness.plugin.manager import Plugins, get_plugins
from harness.report.reported import ReportedRow, ReportedValue
from harness.report.tables import add_optimal_row, build_table, markdown_grid, render
from harness.store.records import load_records
from harness.store.run_folder import RECORD, atomic_write_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SUITE_KEYS = {"name", "description", "seeds", "dataset", "device", "reference", "set"}
GRID_KEYS = {"methods", "datasets", "label", "set"}
REPORTED_KEYS = {"label", "source", "runs", "dataset", "values"}


@dataclass(frozen=True)
class Grid:
    methods: list[str]
    datasets: list[str] | None
    label: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    description: str
    seeds: list[int]
    dataset: str | None
    device: str | None
    reference: str | None
    settings: dict[str, Any]
    grids: list[Grid]
    reported: list[ReportedRow] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedRun:
    """One ``run_seeds`` call: a labelled method on a dataset over the suite's seeds."""

    label: str
    method: str
    dataset: str | None
    seeds: list[int]
    overrides: dict[str, Any] = field(default_factory=dict)
    """Dotted key → value, all layers applied (what ``--dry-run`` shows)."""

    @property
    def user_config(self) -> dict[str, Any]:
        return merge(nest(self.overrides), {"label": self.label})


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys for both spellings TOML allows: ``"search.epochs" = 5`` and ``[search] epochs = 5``."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def nest(dotted: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` → ``{"a": {"b": 1}}``, the partial-config shape the runner takes."""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        for part in reversed(key.split(".")):
            value = {part: value}
        nested = merge(nested, value)
    return nested


def _check_keys(table: Any, allowed: set[str], where: str, path: Path) -> None:
    if not isinstance(table, dict):
        raise UserError(f"{path}: {where} must be a table of key = value, got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(allowed))}")


def _strings(value: Any, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UserError(f"{path}: {what} must be a non-empty list of names, e.g. [\"darts\", \"balenas\"]")
    return value


def _settings(table: dict[str, Any], where: str, path: Path) -> dict[str, Any]:
    """The dotted overrides of a ``set`` table."""
    value = table.get("set", {})
    if not isinstance(value, dict):
        raise UserError(f'{path}: {where} set must be a table of "key" = value, e.g. "search.epochs" = 50')
    return flatten(value)


def _name(head: dict[str, Any], path: Path) -> str:
    """The suite's name, which is its results folder under results/suites/: one path component."""
    name = head.get("name", path.stem)
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        raise UserError(f"{path}: [suite] name must be a folder name (not empty, no '/', not . or ..), "
                        f"e.g. \"nb201-darts\"; got {name!r}")
    return name


def _optional_string(head: dict[str, Any], key: str, example: str, path: Path) -> str | None:
    value = head.get(key)
    if value is not None and not isinstance(value, str):
        raise UserError(f"{path}: [suite] {key} must be a string, e.g. {key} = \"{example}\"; got {value!r}")
    return value


def _seeds(value: Any, path: Path) -> list[int]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value)):
        raise UserError(f"{path}: suite.seeds must be a non-empty list of non-negative integers, e.g. [0, 1, 2]")
    if repeated := repeated_seeds(value):
        raise UserError(f"{path}: suite.seeds has {repeated}; each seed is one run, name it once")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _reported_value(raw: Any, where: str, path: Path) -> ReportedValue:
    """``{mean = m, std = s}`` or ``{error = e, std = s}`` (std optional) → a value in accuracy units."""
    example = "{ mean = 93.62, std = 0.12 } or { error = 45.7 }"
    if not isinstance(raw, dict) or len({"mean", "error"} & set(raw)) != 1 or set(raw) - {"mean", "error", "std"}:
        raise UserError(f"{path}: {where} must be {example}")
    if not all(_number(v) for v in raw.values()):
        raise UserError(f"{path}: {where} must hold numbers, e.g. {example}")
    mean = float(raw["mean"]) if "mean" in raw else 100.0 - float(raw["error"])
    return ReportedValue(mean, float(raw["std"]) if "std" in raw else None)


def _reported_rows(raw_rows: Any, path: Path) -> list[ReportedRow]:
    if not isinstance(raw_rows, list):
        raise UserError(f"{path}: reported rows are [[reported]] tables")
    rows = []
    for number, raw in enumerate(raw_rows, start=1):
        where = f"[[reported]] #{number}"
        _check_keys(raw, REPORTED_KEYS, where, path)
        for key, meaning in (("label", "the grid label it belongs to"), ("source", "paper and table")):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise UserError(f"{path}: {where} needs {key} = \"...\" ({meaning})")
        values = raw.get("values")
        if not isinstance(values, dict) or not values:
            raise UserError(f"{path}: {where} needs a [reported.values] table of metric = {{ mean = ..., std = ... }}")
        for metric in values:
            if "/" not in metric:
                raise UserError(f"{path}: {where}: '{metric}' is not a metric key (<dataset>/<split>_<measure>)")
        runs = raw.get("runs")
        if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
            raise UserError(f"{path}: {where} runs must be a positive integer")
        dataset = raw.get("dataset")
        if dataset is not None and not isinstance(dataset, str):
            raise UserError(f"{path}: {where} dataset must be a dataset name")
        rows.append(ReportedRow(raw["label"], raw["source"],
                                {metric: _reported_value(value, f"{where} {metric}", path) for metric, value in values.items()},
                                dataset, runs))
    return rows


def load_suite(path: Path) -> Suite:
    """Parse and check the structure of a suite file (names are checked by ``validate``)."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; pass a suite file (the shipped suites are benchmarks/*.toml)")
    if not path.is_file():
        raise UserError(f"suite file {path} not found; the shipped suites are in benchmarks/*.toml")
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    _check_keys(document, {"suite", "grid", "reported"}, "the top level", path)
    head = document.get("suite", {})
    _check_keys(head, SUITE_KEYS, "[suite]", path)
    grids_raw = document.get("grid", [])
    if not isinstance(grids_raw, list) or not grids_raw:
        raise UserError(f"{path}: add at least one [[grid]] table with methods = [...]")
    grids = []
    for number, raw in enumerate(grids_raw, start=1):
        _check_keys(raw, GRID_KEYS, f"[[grid]] #{number}", path)
        datasets = _strings(raw["datasets"], f"[[grid]] #{number} datasets", path) if "datasets" in raw else None
        grids.append(Grid(_strings(raw.get("methods"), f"[[grid]] #{number} methods", path), datasets,
                          str(raw.get("label", "{method}")), _settings(raw, f"[[grid]] #{number}", path)))
    return Suite(path, _name(head, path), str(head.get("description", "")), _seeds(head.get("seeds", [0]), path),
                 _optional_string(head, "dataset", "cifar10", path), _optional_string(head, "device", "cpu", path),
                 _optional_string(head, "reference", "darts", path), _settings(head, "[suite]", path), grids,
                 _reported_rows(document.get("reported", []), path))


def _label(grid: Grid, method: str, dataset: str | None, path: Path) -> str:
    fields = {key.rsplit(".", 1)[-1]: value for key, value in grid.settings.items()}
    fields.update(method=method, dataset=dataset or "")
    try:
        return grid.label.format_map(fields)
    except (KeyError, ValueError, IndexError, AttributeError, TypeError) as exc:
        raise UserError(f"{path}: label template '{grid.label}' cannot be filled ({exc}); "
                        f"placeholders: {', '.join('{' + k + '}' for k in sorted(fields))}") from None


def expand(suite: Suite, seeds: list[int] | None = None, assignments: dict[str, Any] | None = None) -> list[PlannedRun]:
    """The grid's runs in file order; ``seeds`` and ``assignments`` (dotted) come from the command line."""
    plan: list[PlannedRun] = []
    seen: dict[tuple[str, str | None], str] = {}
    for grid in suite.grids:
        datasets: Sequence[str | None] = grid.datasets or [suite.dataset]
        for dataset in datasets:
            for method in grid.methods:
                label = _label(grid, method, dataset, suite.path)
                key = (label, dataset)
                if key in seen:
                    raise UserError(f"{suite.path}: label '{label}' on {dataset or 'the default dataset'} is used by two "
                                    f"runs ({seen[key]} and {method}); give the grids distinct label templates")
                seen[key] = method
                overrides = {**suite.settings, **grid.settings, **(assignments or {})}
                plan.append(PlannedRun(label, method, dataset, list(seeds or suite.seeds), overrides))
    return plan


def validate(suite: Suite, plan: list[PlannedRun], plugins: Plugins | None = None) -> list[dict[str, Any]]:
    """Resolve every planned config and check its names against the registries; the configs, in plan order."""
    plugins = plugins or get_plugins()
    configs = []
    for run in plan:  # first: a misspelt method is named as such, not as a reference that matches no label
        try:
            configs.append(resolve_config(plugins, run.method, run.dataset, run.user_config))
        except UserError as exc:
            raise UserError(f"{suite.path} ({run.label}): {exc.message}") from None
    labels = sorted({run.label for run in plan})
    if suite.reference is not None and suite.reference not in labels:
        raise UserError(f"{suite.path}: reference '{suite.reference}' is not a label of this suite; labels: {', '.join(labels)}")
    for entry in suite.reported:
        if entry.label not in labels:
            raise UserError(f"{suite.path}: reported label '{entry.label}' is not a label of this suite; "
                            f"labels: {', '.join(labels)}")
    return configs


def unrunnable(plan: list[PlannedRun], configs: list[dict[str, Any]], device: str,
               plugins: Plugins | None = None) -> list[str]:
    """What keeps the suite from running here although its settings are valid (``configs``, from
    ``validate``): the ``device``, and a dataset without its data folder (a plan can be previewed on
    another machine than the one it runs on)."""
    plugins = plugins or get_plugins()
    problems = []
    try:
        resolve_device(device)
    except UserError as exc:
        problems.append(exc.message)
    for run, config in zip(plan, configs):
        try:
            check_data_dir(plugins["dataset"].create(config["dataset"]["name"]), config["dataset"].get("data_dir"))
        except UserError as exc:
            problems.append(f"{run.label}: {exc.message} (in a suite: --set dataset.data_dir=FOLDER)")
            break
    return problems


def describe(suite: Suite, plan: list[PlannedRun]) -> str:
    """What ``--dry-run`` prints: the settings every run shares once, then one line per run."""
    shared = {k: v for k, v in plan[0].overrides.items() if all(r.overrides.get(k, object()) == v for r in plan)}
    body = [[run.label, run.method, run.dataset or "(default)", ",".join(map(str, run.seeds)),
             ", ".join(f"{k}={v}" for k, v in run.overrides.items() if k not in shared) or "–"]
            for run in plan]
    lines = [f"suite {suite.name}: {len(plan)} runs × seeds = {sum(len(r.seeds) for r in plan)} seed runs"]
    if suite.description:
        lines.append(suite.description)
    if shared:
        lines.append("every run: " + ", ".join(f"{k}={v}" for k, v in shared.items()))
    lines += ["", markdown_grid(["label", "method", "dataset", "seeds", "overrides"], body, left=5)]
    return "\n".join(lines) + "\n"


def _benchmark_file(plan: list[PlannedRun]) -> Path | None:
    """The one benchmark file every run of the plan names (any benchmark's ``file`` option)."""
    files = {value for run in plan for key, value in run.overrides.items()
             if key.startswith("benchmarks.options.") and key.endswith(".file") and value}
    return Path(files.pop()) if len(files) == 1 else None


def run_suite(suite: Suite, plan: list[PlannedRun], results_root: Path, device: str, executor: str = "local",
              executor_options: dict[str, Any] | None = None, loggers: tuple[str, ...] = (),
              reuse_supernets: bool = True, stack_seeds: str = "auto", workers: str = "auto") -> str:
    """Run the plan (finished seeds are skipped), write table.md and table.csv, return the Markdown."""
    tasks = [Task(run.method, run.dataset, run.user_config, tuple(run.seeds), device, str(results_root.resolve()),
                  label=run.label, loggers=loggers, reuse_supernets=reuse_supernets, stack_seeds=stack_seeds,
                  workers=workers)
             for run in plan]
    folders = execute(tasks, executor, executor_options, f"suite {suite.name}")
    notes: list[str] = []
    frames = [load_records(folder, include_failed=True, notes=notes) for folder in folders if (folder / RECORD).exists()]
    if not frames:
        raise UserError(f"no run of suite {suite.name} left a record under {results_root}; see the messages above")
    records = pd.concat(frames, ignore_index=True)
    table = build_table(records, vs=suite.reference, extra_columns=True, reported=suite.reported)
    table.notes += notes
    add_optimal_row(table, records, _benchmark_file(plan))
    markdown = render(table, "markdown")
    atomic_write_bytes(results_root / "table.md", markdown.encode())
    atomic_write_bytes(results_root / "table.csv", render(table, "csv").encode())
    return markdown

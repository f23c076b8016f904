"""Suite files: parsing, grid expansion, early name checks, dry runs and the run-then-table flow.

``run_seeds`` is replaced by a function that writes clearly synthetic records, so these
tests check the suite machinery, not the search.
"""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from functools import partial
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from paths import REPO_ROOT
from run_records import write_run

import harness.experiment.execute
import harness.experiment.suite
import harness.plugin.manager
from harness.api.benchmarks import BenchmarkUnavailable
from harness.api.errors import UserError
from harness.api.methods import Method
from harness.cli.report import add_report_commands
from harness.experiment.suite import expand, flatten, load_suite, validate
from harness.plugin.hookspecs import hookimpl
from harness.plugin.manager import load_plugins
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.darts.optimizer import DartsOptimizer
from plugins.darts.selectors import ArgmaxSelector
from plugins.datasets.cifar import CIFAR10, CifarDataset
from plugins.datasets.digits import DigitsDataset
from plugins.nb201.space import NB201Space

SHIPPED = sorted((REPO_ROOT / "benchmarks").glob("*.toml"))
BUILTIN_PLUGINS = ["nb201", "nb201_benchmark", "retrain", "datasets", "darts", "balenas", "proxies", "pt", "pgnas",
                   "darts_space"]

CIFAR10_FOLDER = ["--set", "dataset.data_dir=cifar-data"]  # the fake runs read nothing; a real one would need it
DEMO = """
[suite]
name = "demo"
description = "two grids"
seeds = [0, 1]
dataset = "digits"
device = "cpu"
[suite.set]
"search.epochs" = 5
"search.batch_size" = 32

[[grid]]
methods = ["darts", "balenas"]

[[grid]]
methods = ["balenas"]
datasets = ["digits", "cifar10"]
label = "{method}-m{samples}-{dataset}"
[grid.set]
"optimizer.options.samples" = 3
"search.epochs" = 7
"""


class NamesOnly:
    """The real space, datasets, optimizers and selectors (validation builds them to check
    their options), the methods as bare presets, and benchmarks that are never used."""

    @hookimpl
    def nasbench_register_methods(self, register):
        register("darts", lambda: Method("darts", "darts", "argmax"))
        register("balenas", lambda: Method("balenas", "balenas", "argmax"))

    @hookimpl
    def nasbench_register_search_spaces(self, register):
        register("nb201", NB201Space)

    @hookimpl
    def nasbench_register_datasets(self, register):
        register("digits", DigitsDataset)
        register("cifar10", partial(CifarDataset, CIFAR10))

    @hookimpl
    def nasbench_register_optimizers(self, register):
        register("darts", DartsOptimizer)
        register("balenas", BalenasOptimizer)

    @hookimpl
    def nasbench_register_selectors(self, register):
        register("argmax", ArgmaxSelector)

    @hookimpl
    def nasbench_register_benchmarks(self, register):
        register("nb201", unconfigured_benchmark)
        register("retrain", object)


def unconfigured_benchmark(options, context):
    raise BenchmarkUnavailable("no NAS-Bench-201 file configured (test)")


unconfigured_benchmark.headline = ("cifar10/test_acc",)


def _write(tmp_path: Path, text: str, name: str = "demo.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def names(monkeypatch) -> harness.plugin.manager.Plugins:
    plugins = load_plugins(extra=[NamesOnly(), importlib.import_module("plugins.executors")], from_entry_points=False)
    monkeypatch.setattr(harness.plugin.manager, "_cached", plugins)
    return plugins


def _cli() -> click.Group:
    group = click.Group("nasbench")
    add_report_commands(group)
    return group


def test_grids_expand_with_labels_and_override_precedence(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, DEMO))
    plan = expand(suite, seeds=[4], assignments={"search.batch_size": 16})
    assert [(r.label, r.method, r.dataset) for r in plan] == [
        ("darts", "darts", "digits"), ("balenas", "balenas", "digits"),
        ("balenas-m3-digits", "balenas", "digits"), ("balenas-m3-cifar10", "balenas", "cifar10")]
    assert all(r.seeds == [4] for r in plan)
    assert plan[0].user_config == {"search": {"epochs": 5, "batch_size": 16}, "label": "darts"}
    assert plan[3].user_config == {"search": {"epochs": 7, "batch_size": 16}, "optimizer": {"options": {"samples": 3}},
                                   "label": "balenas-m3-cifar10"}
    assert expand(suite)[0].seeds == [0, 1]


def test_both_toml_spellings_of_dotted_keys_mean_the_same() -> None:
    assert flatten({"search.lr": 0.1, "search": {"epochs": 2}, "benchmarks": {"options": {"retrain": {"epochs": 3}}}}) == {
        "search.lr": 0.1, "search.epochs": 2, "benchmarks.options.retrain.epochs": 3}


@pytest.mark.parametrize("text, message", [
    ("[suite]\nseeds = [0]\n[[grid]]\nmethods = ['darts']\n[[grid]]\nmethods = ['darts']\n", "used by two runs"),
    ("[suite]\nseeds = [0]\n[[grid]]\nmethod = ['darts']\n", "unknown key.*method.*known: datasets, label, methods, set"),
    ("[suite]\nseeds = [0]\n[[grid]]\nmethods = ['darts']\nlabel = '{method}-{lr}'\n", "placeholders: .*method"),
    ("[suite]\nseeds = 3\n[[grid]]\nmethods = ['darts']\n", "non-negative integers"),
    ("[suite]\nseeds = [0]\n", "at least one \\[\\[grid\\]\\]"),
    ("[suite\n", "not valid TOML"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\n[reported.values]\n'c/test_acc' = { mean = 1 }\n",
     "needs source"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\nsource = 'P'\n", "needs a \\[reported.values\\]"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\nsource = 'P'\n[reported.values]\n"
     "'c/test_acc' = { mean = 1, error = 2 }\n", "mean = 93.62, std = 0.12 } or { error = 45.7 }"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\nsource = 'P'\n[reported.values]\n"
     "'c/test_acc' = { mean = '93.62±0.12' }\n", "must hold numbers"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\nsource = 'P'\n[reported.values]\n"
     "test_acc = { mean = 93.6 }\n", "'test_acc' is not a metric key"),
    ("[suite]\n[[grid]]\nmethods = ['darts']\n[[reported]]\nlabel = 'darts'\nsource = 'P'\nseeds = 4\n", "unknown key.*seeds"),
    ("suite = 5\n[[grid]]\nmethods = ['darts']\n", "demo.toml: \\[suite\\] must be a table of key = value, got 5"),
    ("suite = [1]\n[[grid]]\nmethods = ['darts']\n", "\\[suite\\] must be a table of key = value, got \\[1\\]"),
    ("grid = [1, 2]\n", "\\[\\[grid\\]\\] #1 must be a table of key = value, got 1"),
    ("reported = [1]\n[[grid]]\nmethods = ['darts']\n", "\\[\\[reported\\]\\] #1 must be a table of key = value"),
    ("[suite]\nset = 5\n[[grid]]\nmethods = ['darts']\n", 'demo.toml: \\[suite\\] set must be a table of "key" = value'),
    ("[suite]\nset = [1]\n[[grid]]\nmethods = ['darts']\n", '\\[suite\\] set must be a table of "key" = value'),
    ("[[grid]]\nmethods = ['darts']\nset = 5\n", '\\[\\[grid\\]\\] #1 set must be a table of "key" = value'),
    ("[[grid]]\nmethods = ['darts']\nlabel = '{method.nope}'\n", "'{method.nope}' cannot be filled"),
    ("[[grid]]\nmethods = ['darts']\nlabel = '{method[x]}'\n", "'{method\\[x\\]}' cannot be filled"),
    ("[suite]\ndevice = 5\n[[grid]]\nmethods = ['darts']\n", "\\[suite\\] device must be a string"),
    ("[suite]\nreference = 5\n[[grid]]\nmethods = ['darts']\n", "\\[suite\\] reference must be a string"),
    *[(f"[suite]\nname = '{name}'\n[[grid]]\nmethods = ['darts']\n", "\\[suite\\] name must be a folder name")
      for name in ("../../escape", "a/b", "", ".", "..")],
])
def test_malformed_suites_are_user_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        expand(load_suite(_write(tmp_path, text)))


def test_table_reported_from_a_malformed_suite_is_one_line(tmp_path: Path) -> None:
    results = tmp_path / "runs"
    write_run(results, "darts", 0, {"digits/test_acc": 80.0}, dataset="digits")
    suite_file = _write(tmp_path, "[suite]\nset = 5\n[[grid]]\nmethods = ['darts']\n")
    result = CliRunner().invoke(_cli(), ["table", str(results), "--reported", str(suite_file)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == f'Error: {suite_file}: [suite] set must be a table of "key" = value, e.g. "search.epochs" = 50'


def test_unknown_names_fail_before_any_run_and_list_the_known_ones(tmp_path: Path, names) -> None:
    suite = load_suite(_write(tmp_path, DEMO.replace('["darts", "balenas"]', '["dartz", "balenas"]')))
    with pytest.raises(UserError, match="unknown method 'dartz' \\(did you mean darts\\?\\); known: balenas, darts"):
        validate(suite, expand(suite), names)
    suite = load_suite(_write(tmp_path, DEMO.replace('"cifar10"]', '"cifar11"]')))
    with pytest.raises(UserError, match="unknown dataset 'cifar11' \\(did you mean cifar10\\?\\); known: cifar10, digits"):
        validate(suite, expand(suite), names)


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, names, monkeypatch) -> None:
    monkeypatch.setattr(harness.experiment.execute, "run_task", lambda *a, **k: pytest.fail("dry run must not run"))
    result = CliRunner().invoke(_cli(), ["suite", str(_write(tmp_path, DEMO)), "--dry-run", "--seeds", "0-2"])
    assert result.exit_code == 0, result.output
    assert "suite demo: 4 runs × seeds = 12 seed runs" in result.output
    assert "every run: search.batch_size=32" in result.output
    assert "| balenas-m3-cifar10 | balenas | cifar10 | 0,1,2 | search.epochs=7, optimizer.options.samples=3 |" in result.output
    assert "note: balenas-m3-cifar10: dataset cifar10 needs --data-dir" in result.output  # previewed here, runs elsewhere
    assert "the suite cannot run here as it is" in result.output


def test_suite_runs_every_planned_run_then_writes_its_table(tmp_path: Path, names, monkeypatch) -> None:
    calls = []

    def fake_run_task(task, done):
        calls.append((task.method, task.dataset, task.user_config["label"], list(task.seeds), task.device))
        bonus = 10.0 if task.method == "balenas" else 0.0
        folders = [write_run(Path(task.results_root), task.user_config["label"], seed,
                             {f"{task.dataset}/test_acc": 80.0 + bonus + seed}, method=task.method, dataset=task.dataset)
                   for seed in task.seeds]
        for folder in folders:
            done(folder)
        return folders

    monkeypatch.setattr(harness.experiment.execute, "run_task", fake_run_task)
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["suite", str(_write(tmp_path, DEMO)), "--results", str(out), "--seeds", "0-2",
                                         *CIFAR10_FOLDER])
    assert result.exit_code == 0, result.output
    assert "[suite demo] 12/12 runs done (100%)" in result.output and "[suite demo] 3/12 runs done (25%)" in result.output
    assert calls[0] == ("darts", "digits", "darts", [0, 1, 2], "cpu")
    assert [c[2] for c in calls] == ["darts", "balenas", "balenas-m3-digits", "balenas-m3-cifar10"]
    markdown = (out / "table.md").read_text()
    assert "| balenas-m3-digits | digits | 3 | – | 91.00±1.00 |" in markdown
    assert "optimal row skipped: no NAS-Bench-201 file configured (test)" in markdown
    cells = pd.read_csv(out / "table.csv")
    darts = cells[(cells["label"] == "darts") & (cells["column"] == "digits/test_acc")].iloc[0]
    assert darts["mean"] == pytest.approx(81.0) and darts["n"] == 3


REPORTED = DEMO + """
[[reported]]
label = "darts"
source = "Paper A, Table 9"
runs = 4
[reported.values]
"digits/test_acc" = { mean = 79.5, std = 0.5 }

[[reported]]
label = "balenas-m3-cifar10"
source = "Paper B, Table 2"
dataset = "cifar10"
[reported.values]
"cifar10/test_acc" = { error = 8.0 }
"cifar100/test_acc" = { mean = 70.0 }

[[reported]]
label = "balenas"
source = "Paper A, Table 9"
[reported.values]
"digits/test_acc" = { mean = 95.25 }
"""


def fake_runs(calls: list):
    """An executor task that writes synthetic records instead of searching."""
    def fake_run_task(task, done):
        calls.append(task.user_config["label"])
        bonus = 10.0 if task.method == "balenas" else 0.0
        folders = [write_run(Path(task.results_root), task.user_config["label"], seed,
                             {f"{task.dataset}/test_acc": 80.0 + bonus + seed}, method=task.method, dataset=task.dataset)
                   for seed in task.seeds]
        for folder in folders:
            done(folder)
        return folders
    return fake_run_task


def test_reported_rows_parse_with_errors_turned_into_accuracy(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, REPORTED))
    darts, tf, balenas = suite.reported
    assert (darts.label, darts.source, darts.runs, darts.dataset) == ("darts", "Paper A, Table 9", 4, None)
    assert (darts.values["digits/test_acc"].mean, darts.values["digits/test_acc"].std) == (79.5, 0.5)
    assert tf.values["cifar10/test_acc"].mean == pytest.approx(92.0) and tf.values["cifar10/test_acc"].std is None
    assert tf.dataset == "cifar10" and balenas.runs is None


def test_reported_labels_must_be_labels_of_the_suite(tmp_path: Path, names) -> None:
    suite = load_suite(_write(tmp_path, REPORTED.replace('label = "darts"\nsource', 'label = "DARTS"\nsource')))
    with pytest.raises(UserError, match="reported label 'DARTS' is not a label of this suite; labels: balenas, "):
        validate(suite, expand(suite), names)


def test_suite_table_shows_reported_rows_beside_the_measured_ones(tmp_path: Path, names, monkeypatch) -> None:
    monkeypatch.setattr(harness.experiment.execute, "run_task", fake_runs([]))
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["suite", str(_write(tmp_path, REPORTED)), "--results", str(out),
                                         "--seeds", "0-2", *CIFAR10_FOLDER])
    assert result.exit_code == 0, result.output
    lines = (out / "table.md").read_text().splitlines()
    # darts measures 80, 81, 82 → mean 81; Δ = 81 − 79.5 = +1.5. balenas: 91 − 95.25 = −4.25.
    # columns: cifar10 test | digits test | search s | images/s
    darts = lines.index("| darts | digits | 3 | – | 81.00±1.00 | 101 | 2000 |")
    assert lines[darts + 1] == "| darts (reported: Paper A, Table 9) | digits | 4 |  | 79.50±0.50 (Δ +1.50) |  |  |"
    balenas = lines.index("| balenas | digits | 3 | – | 91.00±1.00 | 101 | 2000 |")
    assert lines[balenas + 1] == "| balenas (reported: Paper A, Table 9) | digits |  |  | 95.25 (Δ -4.25) |  |  |"
    tf = lines.index("| balenas-m3-cifar10 | cifar10 | 3 | 91.00±1.00 | – | 101 | 2000 |")
    assert lines[tf + 1] == "| balenas-m3-cifar10 (reported: Paper B, Table 2) | cifar10 |  | 92.00 (Δ -1.00) |  |  |  |"
    text = "\n".join(lines)
    assert "not measured here; Δ = measured mean − reported mean" in text
    assert "reported cifar100/test_acc not shown: no such column in this table" in text
    assert sum("(reported: Paper" in line for line in lines) == 3  # none beside the digits-only balenas-m3 row
    cells = pd.read_csv(out / "table.csv")
    counts = pd.read_csv(out / "table.csv", dtype=str)["n"].dropna()
    assert counts.str.fullmatch(r"\d+").all(), counts.tolist()  # seed counts stay whole numbers beside reported rows
    reported = cells[cells["reported"].notna()].set_index("label")
    assert reported.loc["darts", "diff"] == pytest.approx(1.5) and reported.loc["darts", "n"] == 4
    assert reported.loc["balenas-m3-cifar10", "mean"] == pytest.approx(92.0)
    assert reported.loc["balenas-m3-cifar10", "measured_mean"] == pytest.approx(91.0)


def compiles_with_pdflatex(table: str, folder: Path) -> None:
    """The table in a minimal booktabs document compiles (only where pdflatex is installed)."""
    if shutil.which("pdflatex") is None:
        return
    source = folder / "table.tex"
    source.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + table
                      + "\\end{document}\n")
    made = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout[-2000:]


def test_table_command_takes_reported_rows_from_a_suite_file(tmp_path: Path, names, monkeypatch) -> None:
    monkeypatch.setattr(harness.experiment.execute, "run_task", fake_runs([]))
    out = tmp_path / "out"
    suite_file = _write(tmp_path, REPORTED)
    assert CliRunner().invoke(_cli(), ["suite", str(suite_file), "--results", str(out), "--seeds", "0",
                                       *CIFAR10_FOLDER]).exit_code == 0
    runner = CliRunner()
    plain = runner.invoke(_cli(), ["table", str(out), "--no-optimal"])
    assert plain.exit_code == 0 and "(reported:" not in plain.output
    shown = runner.invoke(_cli(), ["table", str(out), "--no-optimal", "--reported", str(suite_file)])
    assert shown.exit_code == 0, shown.output
    assert "| darts (reported: Paper A, Table 9) | digits | 4 |  | 79.50±0.50 (Δ +0.50) |  |  |" in shown.output
    latex = runner.invoke(_cli(), ["table", str(out), "--no-optimal", "--format", "latex", "--reported", str(suite_file)])
    assert (r"\textit{darts (reported: Paper A, Table 9)} & \textit{digits} & \textit{4} & \textit{} & "
            r"\textit{79.50$\pm$0.50 ($\Delta$ +0.50)}") in latex.output
    assert r"95.25 ($\Delta$ $-$5.25)" in latex.output and r"measured mean $-$ reported mean" in latex.output
    assert latex.output.isascii(), sorted({c for c in latex.output if not c.isascii()})  # pdflatex knows ASCII
    assert r"\par\footnotesize Note: reported cifar100/test\_acc not shown" in latex.output  # notes are visible
    compiles_with_pdflatex(latex.output, tmp_path)
    payload = json.loads(runner.invoke(_cli(), ["table", str(out), "--no-optimal", "--format", "json",
                                                "--reported", str(suite_file)]).output)
    darts = [c for c in payload["cells"] if c.get("reported") and c["label"] == "darts"]
    assert darts == [pytest.approx(darts[0])] and darts[0]["diff"] == pytest.approx(0.5)


def test_reported_rows_without_a_measured_row_come_last_without_a_difference(tmp_path: Path) -> None:
    results = tmp_path / "runs"
    write_run(results, "darts", 0, {"digits/test_acc": 80.0}, dataset="digits")
    suite_file = _write(tmp_path, REPORTED)
    shown = CliRunner().invoke(_cli(), ["table", str(results), "--no-optimal", "--reported", str(suite_file)])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if line.startswith("| ")]
    assert lines[2:5] == ["| darts | 1 | 80.00 | 100 | 2000 |",
                          "| darts (reported: Paper A, Table 9) | 4 | 79.50±0.50 (Δ +0.50) |  |  |",
                          "| balenas (reported: Paper A, Table 9) |  | 95.25 |  |  |"]


def test_a_reported_row_for_another_dataset_stands_apart_and_says_why(tmp_path: Path) -> None:
    results = tmp_path / "runs"
    write_run(results, "balenas-m3-cifar10", 0, {"cifar10/test_acc": 90.0}, dataset="digits")
    shown = CliRunner().invoke(_cli(), ["table", str(results), "--no-optimal", "--reported",
                                        str(_write(tmp_path, REPORTED))])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if line.startswith("| ")]
    assert lines[2:4] == ["| balenas-m3-cifar10 | 1 | 90.00 | 100 | 2000 |",
                          "| balenas-m3-cifar10 (reported: Paper B, Table 2) |  | 92.00 |  |  |"]
    assert ("'balenas-m3-cifar10 (reported: Paper B, Table 2)' is for cifar10, and 'balenas-m3-cifar10' was "
            "measured on digits: it is shown apart, without Δ") in shown.output


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_suites_parse_and_name_real_components(path: Path) -> None:
    plugins = load_plugins(extra=[importlib.import_module(f"plugins.{name}") for name in BUILTIN_PLUGINS
                                  if importlib.util.find_spec(f"plugins.{name}") is not None])
    suite = load_suite(path)
    validate(suite, expand(suite), plugins)


def test_ci_suite_is_small() -> None:
    suite = load_suite(REPO_ROOT / "benchmarks" / "ci-regression.toml")
    plan = expand(suite)
    assert [r.method for r in plan] == ["darts", "balenas", "random"]
    assert all(r.dataset == "digits" and r.seeds == [0, 1, 2] for r in plan)
    assert plan[0].overrides["search.epochs"] == 3 and plan[0].overrides["benchmarks.options.retrain.epochs"] == 3
    assert "search.epochs" not in plan[2].overrides  # random keeps its preset's zero search epochs
    assert suite.device == "cpu"


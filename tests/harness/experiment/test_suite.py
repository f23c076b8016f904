"""Suite files: parsing, grid expansion, early name checks, dry runs and the run-then-table flow.

``run_seeds`` is replaced by a function that writes clearly synthetic records, so these
tests check the suite machinery, not the search.
"""
from __future__ import annotations

import importlib
from functools import partial
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from paths import REPO_ROOT
from run_records import write_run

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
    plugins = load_plugins(extra=[NamesOnly()], from_entry_points=False)
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
])
def test_malformed_suites_are_user_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        expand(load_suite(_write(tmp_path, text)))


def test_unknown_names_fail_before_any_run_and_list_the_known_ones(tmp_path: Path, names) -> None:
    suite = load_suite(_write(tmp_path, DEMO.replace('["darts", "balenas"]', '["dartz", "balenas"]')))
    with pytest.raises(UserError, match="unknown method 'dartz'; known: balenas, darts"):
        validate(suite, expand(suite), names)
    suite = load_suite(_write(tmp_path, DEMO.replace('"cifar10"]', '"cifar11"]')))
    with pytest.raises(UserError, match="unknown dataset 'cifar11'; known: cifar10, digits"):
        validate(suite, expand(suite), names)


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, names, monkeypatch) -> None:
    monkeypatch.setattr(harness.experiment.suite, "run_seeds", lambda *a, **k: pytest.fail("dry run must not run"))
    result = CliRunner().invoke(_cli(), ["suite", str(_write(tmp_path, DEMO)), "--dry-run", "--seeds", "0-2"])
    assert result.exit_code == 0, result.output
    assert "suite demo: 4 runs × seeds = 12 seed runs" in result.output
    assert "every run: search.batch_size=32" in result.output
    assert "| balenas-m3-cifar10 | balenas | cifar10 | 0,1,2 | search.epochs=7, optimizer.options.samples=3 |" in result.output


def test_suite_runs_every_planned_run_then_writes_its_table(tmp_path: Path, names, monkeypatch) -> None:
    calls = []

    def fake_run_seeds(method, dataset, user_config, seeds, device, results_root):
        calls.append((method, dataset, user_config["label"], seeds, device))
        bonus = 10.0 if method == "balenas" else 0.0
        return [write_run(results_root, user_config["label"], seed, {f"{dataset}/test_acc": 80.0 + bonus + seed},
                          method=method, dataset=dataset) for seed in seeds]

    monkeypatch.setattr(harness.experiment.suite, "run_seeds", fake_run_seeds)
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["suite", str(_write(tmp_path, DEMO)), "--results", str(out), "--seeds", "0-2"])
    assert result.exit_code == 0, result.output
    assert calls[0] == ("darts", "digits", "darts", [0, 1, 2], "cpu")
    assert [c[2] for c in calls] == ["darts", "balenas", "balenas-m3-digits", "balenas-m3-cifar10"]
    markdown = (out / "table.md").read_text()
    assert "| balenas-m3-digits | digits | 3 | – | 91.00±1.00 |" in markdown
    assert "optimal row skipped: no NAS-Bench-201 file configured (test)" in markdown
    cells = pd.read_csv(out / "table.csv")
    darts = cells[(cells["label"] == "darts") & (cells["column"] == "digits/test_acc")].iloc[0]
    assert darts["mean"] == pytest.approx(81.0) and darts["n"] == 3


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

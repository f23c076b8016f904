"""Every built-in method, end to end through `nasbench run`, on a tiny synthetic problem."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from harness import BenchmarkContext, SearchData
from harness.cli.main import build_cli
from harness.plugin.manager import get_plugins
from plugins.retrain.evaluator import RetrainEvaluator

COMMON = ["--dataset", "synthetic", "--epochs", "2", "--device", "cpu", "--benchmark", "retrain",
          "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
          "--set", "benchmarks.options.retrain.epochs=1"]
SMALL_NB201 = ["--set", "space.options.C=4", "--set", "benchmarks.options.retrain.C=4"]
SMALL_DARTS = ["--set", "space.options.C=4", "--set", "space.options.N=0", "--set", "benchmarks.options.retrain.C=4",
               "--set", "benchmarks.options.retrain.N=0", "--set", "selector.options.proj_intv=0",
               "--set", "selector.options.eval_batches=1", "--set", "search.eval_batch_size=16"]
FEW_CANDIDATES = ["--set", "selector.options.k=6", "--set", "selector.options.batch_size=8"]

METHODS = {
    "darts": SMALL_NB201,
    "darts-2nd": SMALL_NB201,
    "random": SMALL_NB201,
    "balenas": SMALL_NB201,
    "balenas-2nd": SMALL_NB201 + ["--set", "optimizer.options.samples=1"],
    "balenas-tf": SMALL_NB201 + FEW_CANDIDATES,
    "zero-cost": SMALL_NB201 + FEW_CANDIDATES,
    "darts-pt": SMALL_NB201 + ["--set", "selector.options.proj_intv=1"],
    "darts-pt-fixalpha": SMALL_NB201 + ["--set", "selector.options.proj_intv=1"],
    "darts-pt-mag": SMALL_NB201 + ["--set", "selector.options.proj_intv=1"],
    "pgnas": SMALL_NB201 + ["--set", "selector.options.candidates=8"],
    "pgnas-heldout": SMALL_NB201 + ["--set", "selector.options.candidates=8"],
    "pgnas-random": SMALL_NB201 + ["--set", "selector.options.candidates=8"],
    "pgnas-resnet": ["--set", "selector.options.candidates=8"],
    "darts-pt-darts": SMALL_DARTS,
    "darts-pt-fixalpha-darts": SMALL_DARTS,
}


def retrained_test_acc(folder: Path, record: dict) -> float:
    """The recorded architecture retrained by a fresh evaluator over the run's own split:
    the record's test accuracy must be exactly this (retraining is seeded)."""
    config = json.loads((folder / "config.json").read_text())
    plugins = get_plugins()
    source = plugins["dataset"].create("synthetic")
    train, test = source.load(None)
    data = SearchData.split(source.info, train, test, config["seed"], torch.device("cpu"))
    space = plugins["search space"].create(config["space"]["name"])
    context = BenchmarkContext(space, source.info, data, torch.device("cpu"), config["seed"],
                               config["space"]["options"])
    evaluator = RetrainEvaluator(config["benchmarks"]["options"]["retrain"], context)
    return evaluator.query(space, space.parse(record["arch"]))["synthetic/test_acc"]


def test_every_registered_method_is_covered():
    assert set(get_plugins()["method"].names()) == set(METHODS)


SLOW = {"darts-pt-darts", "darts-pt-fixalpha-darts"}  # 36 PT decisions on a 28-edge supernet; `pytest -m slow`


@pytest.mark.parametrize("method", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in sorted(METHODS)])
def test_method_runs_end_to_end(method, tmp_path):
    result = CliRunner().invoke(build_cli(), ["run", "--method", method, *COMMON, *METHODS[method],
                                              "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.rglob("record.json")
    record = json.loads(path.read_text())
    assert record["status"] == "finished", record.get("failure")
    assert record["metrics"]["synthetic/test_acc"] == retrained_test_acc(path.parent, record)
    assert record["epochs"] == (0 if method in ("random", "zero-cost") else 2)
    assert ("searches nothing, so --epochs 2 changes nothing" in result.output) == (method in ("random", "zero-cost"))
    assert f"| {method} |" in result.output


def test_zero_epochs_of_a_searching_method_is_run_with_a_note_that_nothing_was_trained(tmp_path):
    args = list(COMMON)
    args[args.index("--epochs") + 1] = "0"
    result = CliRunner().invoke(build_cli(), ["run", "--method", "darts", *args, "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("note: --epochs 0: darts trains nothing, so its selector chooses from the untrained supernet"
            in result.output)
    (path,) = tmp_path.rglob("record.json")
    assert json.loads(path.read_text())["epochs"] == 0


def test_pt_records_its_decisions_and_the_table_shows_selection_cost(tmp_path):
    result = CliRunner().invoke(build_cli(), ["run", "--method", "darts-pt", *COMMON, *METHODS["darts-pt"],
                                              "--set", "selector.options.proj_intv=2", "--results", str(tmp_path)])
    (folder,) = [p.parent for p in tmp_path.rglob("record.json")]
    decisions = (folder / "selection.csv").read_text().splitlines()
    assert len(decisions) == 1 + 6  # one row per NB201 edge
    record = json.loads((folder / "record.json").read_text())
    # darts-pt's schedule with proj_intv 2: decisions at tuning epochs 0, 2, 4, 6, 8 and 2·5 − 1 = 9
    assert record["selection_seconds"] > 1.0 and record["selection"]["tune_epochs"] == 9
    assert record["selection"]["decision_epochs"] == [0, 2, 4, 6, 8, 9]
    assert "Selection (s)" in result.output


def test_balenas_selector_composes_with_pt(tmp_path):
    result = CliRunner().invoke(build_cli(), ["run", "--method", "balenas", "--selector", "pt", *COMMON,
                                              *METHODS["darts-pt"], "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.rglob("selection.csv")
    assert len(path.read_text().splitlines()) == 7

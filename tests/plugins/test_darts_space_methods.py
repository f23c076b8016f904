"""Every search method on the DARTS space and on S1–S4, end to end through `nasbench run`, with tiny settings."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli.main import build_cli
from plugins.darts_space.space import DartsSpace

TINY = ["--dataset", "synthetic", "--epochs", "1", "--device", "cpu",
        "--set", "space.options.C=4", "--set", "space.options.N=0",
        "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
        "--set", "search.eval_batch_size=16", "--set", "benchmarks.names=[]"]
PT = ["--set", "selector.options.proj_intv=0", "--set", "selector.options.eval_batches=1"]
METHODS = {
    "darts": [],
    "darts-2nd": [],
    "balenas": [],
    "balenas-tf": ["--set", "selector.options.k=3", "--set", "selector.options.batch_size=8",
                   "--set", "selector.options.proxy=synflow"],
    "pgnas": ["--set", "selector.options.candidates=3"],
    "darts-pt": PT,
}


def run(tmp_path, method: str, space: str, extra: list[str]) -> dict:
    result = CliRunner().invoke(build_cli(), ["run", "--method", method, "--space", space, *TINY, *extra,
                                              "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.rglob("record.json")
    record = json.loads(path.read_text())
    assert record["status"] == "finished", record.get("failure")
    return record


SLOW = {"pgnas"}  # probes 224 gate groups for their kernels; `pytest -m slow`


@pytest.mark.parametrize("method", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in sorted(METHODS)])
def test_method_finds_a_genotype_on_the_darts_space(method, tmp_path):
    record = run(tmp_path, method, "darts", METHODS[method])
    space = DartsSpace()
    assert record["arch"].startswith("Genotype(normal=[(")
    assert space.format(space.parse(record["arch"])) == record["arch"]


@pytest.mark.parametrize("space", ["darts-s1", "darts-s2", "darts-s3", "darts-s4"])
def test_darts_pt_runs_on_the_robust_darts_spaces(space, tmp_path):
    record = run(tmp_path, "darts-pt", space, PT)
    assert record["arch"].startswith("Genotype(normal=[(")
    (selection,) = tmp_path.rglob("selection.csv")
    assert len(selection.read_text().splitlines()) == 1 + 28 + 6  # 28 op decisions, then nodes 3-5 of both cells

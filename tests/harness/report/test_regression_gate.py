"""The CI gate end to end: a real baseline from real runs, the same code passes, a
deliberately broken optimizer (DARTS that forgets its softmax) fails; and the committed
baseline is reproduced exactly, seed by seed, where its environment is the current one, so
a change that shifts every method alike cannot pass unseen."""
from __future__ import annotations

import platform

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from paths import REPO_ROOT

import plugins.darts.optimizer as darts_optimizer
from harness.cli.main import build_cli
from harness.experiment.seed_runs import run_seeds
from harness.experiment.suite import expand, load_suite
from harness.report.environment import environment_path, read_environment

CONFIG = {"space": {"options": {"C": 8, "N": 1}}, "search": {"epochs": 3, "max_steps_per_epoch": 8},
          "benchmarks": {"names": ["retrain"], "options": {"retrain": {"epochs": 1}}}}
METRICS = "digits/test_acc,digits/supernet_valid_acc"


def search(root):
    run_seeds("darts", "digits", CONFIG, [0, 1, 2], "cpu", root)


def regress(baseline, root):
    return CliRunner().invoke(build_cli(), ["regress", "--baseline", str(baseline), str(root)])


def test_gate_passes_a_rerun_and_fails_a_broken_optimizer(tmp_path, monkeypatch):
    search(tmp_path / "trusted")
    baseline = tmp_path / "baseline.csv"
    written = CliRunner().invoke(build_cli(), ["table", str(tmp_path / "trusted"), "--format", "baseline",
                                               "--metrics", METRICS, "--output", str(baseline)])
    assert written.exit_code == 0, written.output

    search(tmp_path / "again")
    passed = regress(baseline, tmp_path / "again")
    assert passed.exit_code == 0, passed.output

    monkeypatch.setattr(darts_optimizer, "_softmax", lambda alpha: alpha)  # the bug: raw α as op weights
    search(tmp_path / "broken")
    failed = regress(baseline, tmp_path / "broken")
    assert failed.exit_code == 1, failed.output
    assert "digits/supernet_valid_acc" in failed.output


COMMITTED = REPO_ROOT / "results" / "baselines" / "ci-regression.csv"
CI_SUITE = REPO_ROOT / "benchmarks" / "ci-regression.toml"
REPRODUCED = ("darts",)  # seed 0; balenas and random, and all seeds, are left to the CI gate (`.ci/run`)


def test_ci_suite_reproduces_the_committed_baseline_exactly_in_its_environment(tmp_path):
    recorded = read_environment(COMMITTED)
    assert recorded is not None, f"{environment_path(COMMITTED)} must record the baseline's environment"
    here = {"torch": torch.__version__, "numpy": np.__version__,
            "python": ".".join(platform.python_version().split(".")[:2]),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    differ = [f"{key} {value} (baseline {recorded.get(key)})" for key, value in here.items() if recorded.get(key) != value]
    if differ:
        pytest.skip("not the baseline's environment, so no exact reproduction: " + "; ".join(differ))

    for planned in expand(load_suite(CI_SUITE), seeds=[0]):
        if planned.method in REPRODUCED:
            run_seeds(planned.method, planned.dataset, planned.user_config, [0], "cpu", tmp_path / "now")
    committed = pd.read_csv(COMMITTED)
    subset = committed[committed["label"].isin(REPRODUCED) & (committed["seed"] == 0)]
    assert len(subset) == 2  # test_acc, supernet_valid_acc
    baseline = tmp_path / "baseline.csv"
    subset.to_csv(baseline, index=False)
    environment_path(baseline).write_text(environment_path(COMMITTED).read_text())

    result = CliRunner().invoke(build_cli(), ["regress", "--baseline", str(baseline), str(tmp_path / "now"),
                                              "--require-pinned"])
    assert result.exit_code == 0, result.output
    assert "same environment as the baseline" in result.output and "CHANGED" not in result.output

"""The CI gate end to end: a real baseline from real runs, the same code passes, a
deliberately broken optimizer (DARTS that forgets its softmax) fails."""
from __future__ import annotations

from click.testing import CliRunner

import plugins.darts.optimizer as darts_optimizer
from harness.cli.main import build_cli
from harness.experiment.runner import run_seeds

CONFIG = {"space": {"options": {"C": 8, "N": 1}}, "search": {"epochs": 3, "max_steps_per_epoch": 8},
          "benchmarks": {"names": ["retrain"], "options": {"retrain": {"epochs": 1}}}}
METRICS = "digits/test_acc,digits/supernet_valid_acc"


def search(root):
    run_seeds("darts", "digits", CONFIG, [0, 1, 2], "cpu", root)


def regress(baseline, root):
    return CliRunner().invoke(build_cli(), ["regress", "--baseline", str(baseline), str(root)])


def test_gate_passes_the_same_code_and_fails_a_broken_optimizer(tmp_path, monkeypatch):
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

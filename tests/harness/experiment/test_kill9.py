"""``kill -9`` during the search and during the retraining: the same command again resumes and
ends with the same trajectory and record as a run that was never interrupted.

The killed run is a real process (``tests/kill_at.py`` SIGKILLs itself at a fixed point, so
the test does not depend on timing); the uninterrupted and the resumed runs go through
click's runner in process, which saves two interpreter starts.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import REPO_ROOT

from harness.cli.main import build_cli
from harness.store.supernets import SUPERNETS

ARGS = ["run", "--method", "darts", "--dataset", "synthetic", "--epochs", "2", "--device", "cpu", "--threads", "1",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=3", "--set", "search.batch_size=16",
        "--benchmark", "retrain", "--set", "benchmarks.options.retrain.epochs=2",
        "--set", "benchmarks.options.retrain.C=4"]
KILLER = REPO_ROOT / "tests" / "kill_at.py"
VOLATILE = {"seconds", "images_per_second", "search_seconds", "selection_seconds", "finished_at", "peak_memory_mb"}


def killed_run(results: Path, where: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, str(KILLER), where, "--", *ARGS, "--results", str(results)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO_ROOT)


def nasbench(results: Path):
    return CliRunner().invoke(build_cli(), [*ARGS, "--results", str(results)])


def outcome(results: Path) -> tuple[dict, list[dict]]:
    (record_path,) = results.rglob("record.json")
    record = {k: v for k, v in json.loads(record_path.read_text()).items() if k not in VOLATILE}
    import pandas as pd

    trajectory = pd.read_csv(record_path.parent / "trajectory.csv").drop(columns=list(VOLATILE), errors="ignore")
    return record, trajectory.to_dict(orient="records")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[dict, list[dict]]:
    results = tmp_path_factory.mktemp("straight")
    finished = nasbench(results)
    assert finished.exit_code == 0, finished.output
    return outcome(results)


@pytest.mark.parametrize("where, leftover", [("search", "checkpoint.pt"), ("retrain", "retrain-*.pt")])
def test_kill_9_then_the_same_command_finishes_as_if_never_killed(uninterrupted, tmp_path, where, leftover):
    killed = killed_run(tmp_path, where)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not list(tmp_path.rglob("record.json")) and list(tmp_path.rglob(leftover))

    resumed = nasbench(tmp_path)
    assert resumed.exit_code == 0, resumed.output
    assert f"darts seed 0: resuming after epoch {1 if where == 'search' else 2}" in resumed.output
    if where == "retrain":
        assert ": resuming after epoch 1" in resumed.output.split("darts seed 0: resuming")[1]
    assert not [p for p in tmp_path.rglob("*.pt") if SUPERNETS not in p.parts] and not list(tmp_path.rglob(".*.tmp"))
    assert list((tmp_path / SUPERNETS).rglob("seed-0.pt")), "the finished run's supernet is kept for other selectors"
    record, trajectory = outcome(tmp_path)
    assert record["status"] == "finished"
    assert (record, trajectory) == uninterrupted

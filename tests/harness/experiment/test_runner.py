"""`nasbench run` end to end through click's runner, on the synthetic dataset."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from harness import UserError, hookimpl
from harness.cli.main import build_cli
from harness.experiment import seed_runs
from harness.plugin.manager import get_plugins
from harness.store.records import load_records, load_trajectories

TINY = ["--dataset", "synthetic", "--epochs", "2", "--device", "cpu",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=3",
        "--set", "search.batch_size=16", "--benchmark", "retrain",
        "--set", "benchmarks.options.retrain.epochs=1", "--set", "benchmarks.options.retrain.C=4"]


def invoke(*args):
    return CliRunner().invoke(build_cli(), ["run", *args], catch_exceptions=False)


def only_record(root):
    (path,) = list(root.rglob("record.json"))
    return json.loads(path.read_text()), path.parent


def test_darts_run_writes_config_trajectory_and_record(tmp_path):
    result = invoke("--method", "darts", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    record, folder = only_record(tmp_path)
    assert record["status"] == "finished" and record["epochs"] == 2
    assert record["metrics"]["synthetic/test_acc"] >= 0 and record["images_per_second"] > 0
    assert (folder / "config.json").exists() and not (folder / "checkpoint.pt").exists()
    trajectory = (folder / "trajectory.csv").read_text().splitlines()
    assert len(trajectory) == 3 and "skip_connect" in trajectory[0]
    # the lr after epoch e of T = 2 follows the cosine from 0.025 to 0.001: (0.025 + 0.001) / 2, then 0.001
    assert pd.read_csv(folder / "trajectory.csv")["lr"].tolist() == pytest.approx([0.013, 0.001], rel=1e-9)
    assert "darts" in result.output and "synthetic" in result.output
    assert "darts seed 0: epoch 2/2 (train loss " in result.output  # no terminal here: a line per epoch, not a bar
    assert "retrain seed 0: epoch 1/1 (train acc " in result.output


def test_rerunning_skips_finished_seeds(tmp_path):
    invoke("--method", "random", *TINY, "--results", str(tmp_path))
    result = invoke("--method", "random", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 0
    assert "already finished" in result.output
    assert len(list(tmp_path.rglob("record.json"))) == 1


def test_rerunning_finished_seeds_writes_nothing_so_a_read_only_results_folder_still_gives_the_table(
        tmp_path, monkeypatch):
    invoke("--method", "random", *TINY, "--seeds", "0-1", "--workers", "1", "--results", str(tmp_path))
    files = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}

    def not_writable(*args, **kwargs):
        raise UserError(f"cannot write {tmp_path}: the folder is not writable")

    monkeypatch.setattr(seed_runs.results, "prepare_root", not_writable)  # root writes anyway: refuse as a mount would
    monkeypatch.setattr(seed_runs.SeedLock, "acquire", not_writable)
    result = invoke("--method", "random", *TINY, "--seeds", "0-1", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.count("already finished") == 2 and "| random |" in result.output
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == files


class InterruptAfterFirstEpoch:
    """A lifecycle plugin that presses Ctrl-C when the first epoch ends."""

    @hookimpl
    def nasbench_epoch_end(self, run, row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    straight = tmp_path / "straight"
    invoke("--method", "darts", *TINY, "--results", str(straight))

    interrupted = tmp_path / "interrupted"
    from harness.plugin.hookspecs import hookimpl
    stopper = type("Stopper", (), {"nasbench_epoch_end": hookimpl(InterruptAfterFirstEpoch.nasbench_epoch_end)})()
    get_plugins().manager.register(stopper)
    try:
        aborted = invoke("--method", "darts", *TINY, "--results", str(interrupted))
        assert aborted.exit_code == 130 and "Aborted" not in aborted.output  # the shell's status for Ctrl-C
        assert "stopped: finished seeds are kept, and the same command resumes the others" in aborted.output
    finally:
        get_plugins().manager.unregister(stopper)
    assert list(interrupted.rglob("checkpoint.pt")) and not list(interrupted.rglob("record.json"))

    result = invoke("--method", "darts", *TINY, "--results", str(interrupted))
    assert "resuming after epoch 1" in result.output
    a, b = load_records(straight), load_records(interrupted)
    assert a["arch"].tolist() == b["arch"].tolist()
    assert a["synthetic/test_acc"].tolist() == b["synthetic/test_acc"].tolist()
    ta = (next(straight.rglob("trajectory.csv"))).read_text().splitlines()
    tb = (next(interrupted.rglob("trajectory.csv"))).read_text().splitlines()
    strip = lambda lines: [",".join(c for i, c in enumerate(line.split(",")) if i not in drop) for line in lines]
    header = ta[0].split(",")
    drop = {header.index(c) for c in ("seconds", "images_per_second")}
    assert strip(ta) == strip(tb)


def test_diverging_seed_is_recorded_as_failed_and_others_go_on(tmp_path):
    result = invoke("--method", "darts", *TINY, "--seeds", "0-1", "--set", "search.lr=1e12",
                    "--set", "search.grad_clip=1e30", "--results", str(tmp_path))
    assert "seed 0: failed" in result.output and "seed 1: failed" in result.output
    assert "training loss became nan" in result.output
    records = load_records(tmp_path, include_failed=True)
    assert len(records) == 2 and set(records["status"]) == {"failed"}
    assert records["failure"].str.contains("nan|inf", case=False).all()


@pytest.mark.parametrize("args, message", [
    (["--method", "nope"], "unknown method 'nope'; known:"),
    (["--dataset", "imagenet"], "unknown dataset 'imagenet' (did you mean imagenet16-120?); known:"),
    (["--space", "nb999"], "unknown search space 'nb999'; known:"),
    (["--dataset", "cifar10"], "needs --data-dir"),
    (["--seeds", "x"], "--seeds 'x'"),
    (["--device", "tpu"], "expected auto, cpu, cuda or cuda:N"),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    result = CliRunner().invoke(build_cli(), ["run", "--results", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_track_hessian_records_the_dominant_eigenvalue_per_epoch(tmp_path):
    result = invoke("--method", "darts", *TINY, "--track-hessian", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    trajectory = load_trajectories(tmp_path)
    assert len(trajectory) == 2
    assert trajectory["hessian_eigenvalue"].notna().all() and (trajectory["hessian_eigenvalue"].abs() > 0).all()

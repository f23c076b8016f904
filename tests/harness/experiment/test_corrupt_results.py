"""The corruption matrix: damaged results files give one line naming the file and what to do,
resuming never runs code from a checkpoint, and table/regress/plot skip a bad seed with a note."""
from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from harness import hookimpl
from harness.cli.main import build_cli
from harness.plugin.manager import get_plugins

TINY = ["--method", "darts", "--dataset", "synthetic", "--epochs", "2", "--device", "cpu",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
        "--benchmark", "retrain", "--set", "benchmarks.options.retrain.epochs=1",
        "--set", "benchmarks.options.retrain.C=4"]


def nasbench(*args: str):
    return CliRunner().invoke(build_cli(), [str(a) for a in args])


def one_error_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class StopAfterFirstEpoch:
    @hookimpl
    def nasbench_epoch_end(self, run, row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """An interrupted run (checkpoint after epoch 1) and a finished two-seed run, copied per test."""
    root = tmp_path_factory.mktemp("templates")
    stopper = StopAfterFirstEpoch()
    get_plugins().manager.register(stopper)
    try:
        nasbench("run", *TINY, "--results", root / "interrupted")
    finally:
        get_plugins().manager.unregister(stopper)
    finished = nasbench("run", *TINY, "--seeds", "0-1", "--results", root / "finished")
    assert finished.exit_code == 0, finished.output
    baseline = nasbench("table", root / "finished", "--format", "baseline", "--metrics", "synthetic/test_acc",
                        "--output", root / "baseline.csv")
    assert baseline.exit_code == 0, baseline.output
    return {"interrupted": root / "interrupted", "finished": root / "finished", "baseline": root / "baseline.csv"}


def copy_of(templates, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(templates[name], tmp_path / name))


def seed_folder(root: Path, seed: int = 0) -> Path:
    return next(root.rglob(f"seed-{seed}"))


class RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def checkpoint_cases(tmp_path: Path, real: bytes) -> dict[str, bytes]:
    marker = tmp_path / "pwned"
    malicious = tmp_path / "malicious.pt"
    torch.save({"epoch": 1, "trainer": RunsCode(str(marker))}, malicious)
    partial = tmp_path / "partial.pt"
    torch.save({"epoch": 1}, partial)
    listed = tmp_path / "listed.pt"
    torch.save([1, 2, 3], listed)
    return {"empty": b"", "truncated": real[: len(real) // 2], "garbage": b"\x00\xffnot a checkpoint" * 10,
            "malicious": malicious.read_bytes(), "plain-pickle": pickle.dumps(RunsCode(str(marker))),
            "missing-keys": partial.read_bytes(), "not-a-dict": listed.read_bytes()}


@pytest.mark.parametrize("case", ["empty", "truncated", "garbage", "malicious", "plain-pickle", "missing-keys",
                                  "not-a-dict"])
def test_a_damaged_checkpoint_is_one_line_and_runs_nothing(templates, tmp_path, case):
    results = copy_of(templates, "interrupted", tmp_path)
    checkpoint = seed_folder(results) / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint_cases(tmp_path, checkpoint.read_bytes())[case])
    line = one_error_line(nasbench("run", *TINY, "--results", results), str(checkpoint), "delete it")
    assert "start this seed over" in line
    assert not (tmp_path / "pwned").exists()


def test_deleting_a_damaged_checkpoint_starts_the_seed_over(templates, tmp_path):
    results = copy_of(templates, "interrupted", tmp_path)
    checkpoint = seed_folder(results) / "checkpoint.pt"
    checkpoint.write_bytes(b"garbage")
    one_error_line(nasbench("run", *TINY, "--results", results))
    checkpoint.unlink()
    result = nasbench("run", *TINY, "--results", results)
    assert result.exit_code == 0 and "resuming" not in result.output
    assert json.loads((seed_folder(results) / "record.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("name, content", [
    ("config.json", b""), ("config.json", b'{"space": '), ("trajectory.csv", b"epoch,arch\n1,|no"),
    ("trajectory.csv", b"\x00\x01garbage"),
])
def test_config_and_trajectory_of_an_interrupted_run_are_rewritten_on_resume(templates, tmp_path, name, content):
    results = copy_of(templates, "interrupted", tmp_path)
    (seed_folder(results) / name).write_bytes(content)
    result = nasbench("run", *TINY, "--results", results)
    assert result.exit_code == 0, result.output
    assert "resuming after epoch 1" in result.output
    json.loads((seed_folder(results) / "config.json").read_text())
    assert len((seed_folder(results) / "trajectory.csv").read_text().splitlines()) == 3


RECORD_CASES = {
    "empty": b"", "truncated": b'{"status": "finished", "metr', "garbage": b"\xff\xfe\x00garbage",
    "empty-object": b"{}", "a-list": b"[1, 2]", "bad-status": b'{"status": "done", "metrics": {}}',
    "string-metric": b'{"status": "finished", "metrics": {"synthetic/test_acc": "ninety"}}',
    "metrics-not-a-table": b'{"status": "finished", "metrics": 5}',
    "no-names": b'{"status": "finished", "metrics": {}}',
    "seed-not-an-integer": b'{"status": "finished", "method": "darts", "label": "darts", "space": "nb201", '
                           b'"dataset": "synthetic", "seed": "abc", "metrics": {}}',
    "seconds-not-a-number": b'{"status": "finished", "method": "darts", "label": "darts", "space": "nb201", '
                            b'"dataset": "synthetic", "seed": 1, "selection_seconds": "x", "metrics": {}}',
}


@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_a_damaged_record_is_one_line_for_run_and_a_note_for_reports(templates, tmp_path, case):
    results = copy_of(templates, "finished", tmp_path)
    record = seed_folder(results, 1) / "record.json"
    record.write_bytes(RECORD_CASES[case])

    one_error_line(nasbench("run", *TINY, "--seeds", "0-1", "--results", results), str(record), "--retry-failed")

    table = nasbench("table", results)
    assert table.exit_code == 0, table.output
    assert f"Note: {record}" in table.output and "left out" in table.output  # among the table's own notes
    assert "| darts" in table.output and "Traceback" not in table.output

    regress = nasbench("regress", results, "--baseline", templates["baseline"], "--tolerance", "100")
    assert regress.exit_code == 1, regress.output  # in the baseline's environment a seed left out did not reproduce
    assert f"note: {record}" in regress.output and "seed(s) 1 have no current value" in regress.output

    plot = nasbench("plot", results, "--format", "png", "--output-dir", tmp_path / "plots")
    assert plot.exit_code == 0, plot.output
    assert f"note: {record}" in plot.output and list((tmp_path / "plots").glob("*.png"))


@pytest.mark.parametrize("case", ["empty-object", "garbage"])
def test_retry_failed_redoes_a_seed_whose_record_is_damaged(templates, tmp_path, case):
    results = copy_of(templates, "finished", tmp_path)
    record = seed_folder(results, 1) / "record.json"
    pristine = json.loads(record.read_text())
    record.write_bytes(RECORD_CASES[case])
    result = nasbench("run", *TINY, "--seeds", "0-1", "--results", results, "--retry-failed")
    assert result.exit_code == 0, result.output
    assert "running seed 1 again" in result.output and "seed 0: already finished" in result.output
    redone = json.loads(record.read_text())
    assert redone["status"] == "finished" and redone["arch"] == pristine["arch"]
    assert redone["metrics"] == pristine["metrics"]


@pytest.mark.parametrize("content", [b"", b"epoch,arch,valid_acc\n1,|a|,50.0\n2,|a", b"\xff\x00 not csv",
                                     b"epoch,arch,valid_acc\n1,|a|,50.0\n2,|a|,abc\n"],
                         ids=["empty", "cut-mid-line", "garbage", "text-for-a-number"])
def test_a_damaged_trajectory_is_left_out_of_plots_with_a_note(templates, tmp_path, content):
    results = copy_of(templates, "finished", tmp_path)
    trajectory = seed_folder(results, 1) / "trajectory.csv"
    trajectory.write_bytes(content)
    plot = nasbench("plot", results, "--format", "png", "--output-dir", tmp_path / "plots")
    assert plot.exit_code == 0, plot.output
    assert f"note: {trajectory}" in plot.output and "Traceback" not in plot.output
    epochs = nasbench("epochs", results)  # these runs query no benchmark per epoch: an error line after the note
    assert f"note: {trajectory}" in epochs.output and "Traceback" not in epochs.output
    table = nasbench("table", results)
    assert table.exit_code == 0 and "note:" not in table.output


def test_reports_on_seeds_without_a_record_yet_say_so(templates, tmp_path):
    results = copy_of(templates, "interrupted", tmp_path)
    for command in (["epochs", results], ["plot", results, "--output-dir", tmp_path / "plots"]):
        one_error_line(nasbench(*command), "1 seed(s) have epochs but no record yet (still running, or interrupted")


def test_every_trajectory_damaged_is_one_line(templates, tmp_path):
    results = copy_of(templates, "finished", tmp_path)
    for trajectory in results.rglob("trajectory.csv"):
        trajectory.write_bytes(b"epoch,arch\n1,|cut")
    one_error_line(nasbench("plot", results, "--output-dir", tmp_path / "plots"), "no readable trajectories")


def test_results_files_have_the_usual_modes(templates):
    import os

    umask = os.umask(0)
    os.umask(umask)
    files = [p for p in templates["finished"].rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in files)


def test_a_damaged_record_of_a_seed_not_asked_for_is_a_note_after_the_run(templates, tmp_path):
    results = copy_of(templates, "finished", tmp_path)
    record = seed_folder(results, 1) / "record.json"
    record.write_bytes(b"{}")
    result = nasbench("run", *TINY, "--seeds", "0", "--results", results)
    assert result.exit_code == 0, result.output
    assert "seed 0: already finished" in result.output and f"note: {record}" in result.output

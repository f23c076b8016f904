"""`nasbench run --stack-seeds`: seeds trained as one stacked NB201 supernet end as they would alone.

BaLeNAS and PGNAS are compared on the per-op cell: on this tiny, barely trained problem one
cell's backward is ill-conditioned in float32 (after seed 1's first BaLeNAS step, the gradient
w.r.t. that cell's input differs by 4e-4 between the fused and per-op cells, while both agree
to 1e-15 in float64), and the stacked fused cell rounds like the per-op one there. Alone and
stacked then drift apart by ~0.3 % within 6 steps — a float32 effect, not a difference in what
is computed; on the per-op cell they agree to float precision.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from harness import hookimpl
from harness.cli.main import build_cli
from harness.experiment import runner
from harness.experiment.seed_runs import stacks_seeds
from harness.plugin.manager import get_plugins
from harness.report.environment import run_environment
from harness.store.records import load_records

TINY = ["--dataset", "synthetic", "--epochs", "2", "--device", "cpu", "--seeds", "0-1",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=3",
        "--set", "search.batch_size=16", "--benchmark", "nb201"]
NOT_COMPARED = {"seconds", "images_per_second"}


def invoke(*args):
    return CliRunner().invoke(build_cli(), ["run", *args], catch_exceptions=False)


def records(root):
    return {r["seed"]: r for r in (json.loads(p.read_text()) for p in root.rglob("record.json"))}


def trajectories(root):
    return {int(p.parent.name.split("-")[1]): pd.read_csv(p) for p in root.rglob("trajectory.csv")}


@pytest.mark.parametrize("method, cell", [("darts", "fused"), ("darts", "per_op"), ("balenas", "per_op"),
                                          ("pgnas", "per_op")])
def test_stacked_seeds_end_as_the_seeds_run_alone(tmp_path, method, cell):
    options = ["--set", f"space.options.cell={cell}"]
    if method == "pgnas":
        options += ["--set", "selector.options.candidates=4"]
    invoke("--method", method, *TINY, *options, "--stack-seeds", "off", "--results", str(tmp_path / "alone"))
    invoke("--method", method, *TINY, *options, "--stack-seeds", "on", "--results", str(tmp_path / "stacked"))
    alone, stacked = records(tmp_path / "alone"), records(tmp_path / "stacked")
    assert sorted(alone) == sorted(stacked) == [0, 1]
    for seed, record in alone.items():
        twin = stacked[seed]
        assert (record["stacked_seeds"], twin["stacked_seeds"]) == (1, 2)
        assert twin["status"] == record["status"] == "finished"
        assert twin["arch"] == record["arch"] and twin["config_hash"] == record["config_hash"]
        assert twin["metrics"] == pytest.approx(record["metrics"], rel=1e-4)
        assert twin["optimizer"] == pytest.approx(record["optimizer"], rel=1e-4, abs=1e-6)
    for seed, frame in trajectories(tmp_path / "alone").items():
        twin = trajectories(tmp_path / "stacked")[seed]
        assert list(twin["arch"]) == list(frame["arch"])
        numeric = [c for c in frame.columns if c not in NOT_COMPARED and pd.api.types.is_numeric_dtype(frame[c])]
        pd.testing.assert_frame_equal(twin[numeric], frame[numeric], rtol=1e-4, atol=1e-6)
    assert trajectories(tmp_path / "alone")[0]["train_loss"].iloc[-1] != trajectories(tmp_path / "alone")[1]["train_loss"].iloc[-1]


def test_on_cpus_auto_runs_seeds_one_by_one(tmp_path):
    invoke("--method", "darts", *TINY, "--results", str(tmp_path))
    assert {r["stacked_seeds"] for r in records(tmp_path).values()} == {1}


def test_an_optimizer_that_cannot_be_stacked_runs_its_seeds_one_by_one_and_says_why(tmp_path):
    result = invoke("--method", "darts", *TINY, "--stack-seeds", "on", "--results", str(tmp_path),
                    "--set", "optimizer.options.order=2")
    assert "seeds run one by one: the architecture optimizer DartsOptimizer" in result.output
    found = records(tmp_path)
    assert sorted(found) == [0, 1] and {r["stacked_seeds"] for r in found.values()} == {1}


class InterruptAfterFirstEpoch:
    @hookimpl
    def nasbench_epoch_end(self, run, row):
        if row["epoch"] == 1 and run.seed == 1:
            raise KeyboardInterrupt


def interrupt_a_stack(results):
    """Two stacked seeds stopped by Ctrl-C after their first epoch."""
    stopper = InterruptAfterFirstEpoch()
    get_plugins().manager.register(stopper)
    try:
        assert invoke("--method", "darts", *TINY, "--stack-seeds", "on", "--results", str(results)).exit_code == 130
    finally:
        get_plugins().manager.unregister(stopper)


def test_an_interrupted_stack_resumes_stacked_and_ends_as_an_uninterrupted_one(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    invoke("--method", "darts", *TINY, "--stack-seeds", "on", "--results", str(straight))
    interrupt_a_stack(interrupted)
    assert len(list(interrupted.rglob("checkpoint.pt"))) == 2 and not list(interrupted.rglob("record.json"))
    result = invoke("--method", "darts", *TINY, "--stack-seeds", "on", "--results", str(interrupted))
    assert result.output.count("resuming after epoch 1") == 2
    a, b = load_records(straight), load_records(interrupted)
    assert a["arch"].tolist() == b["arch"].tolist()
    assert a["stacked_seeds"].tolist() == b["stacked_seeds"].tolist() == [2, 2]
    for seed, frame in trajectories(straight).items():
        twin = trajectories(interrupted)[seed]
        kept = [c for c in frame.columns if c not in NOT_COMPARED]
        pd.testing.assert_frame_equal(twin[kept], frame[kept])


def test_a_stack_resumed_alone_under_another_torch_records_both_environments(tmp_path, monkeypatch):
    interrupt_a_stack(tmp_path)
    versions = runner.versions
    monkeypatch.setattr(runner, "versions", lambda: {**versions(), "torch": "9.9"})
    result = invoke("--method", "darts", *TINY, "--stack-seeds", "off", "--workers", "1", "--results", str(tmp_path))
    assert result.output.count("resuming after epoch 1") == 2
    for record in records(tmp_path).values():
        assert record["stacked_seeds"] == 2  # its first epoch was stacked: not the bits of a seed run alone
        assert record["versions"]["torch"] == f"mixed: {torch.__version__}, 9.9"
        assert run_environment(record)["stacking"] == "stacked"


def test_diverging_stacked_seeds_are_recorded_as_they_would_be_alone(tmp_path):
    diverge = ["--set", "search.lr=1e12", "--set", "search.grad_clip=1e30"]
    invoke("--method", "darts", *TINY, *diverge, "--stack-seeds", "off", "--results", str(tmp_path / "alone"))
    result = invoke("--method", "darts", *TINY, *diverge, "--stack-seeds", "on", "--results", str(tmp_path / "stacked"))
    assert "seed 0: failed" in result.output and "seed 1: failed" in result.output
    alone, stacked = records(tmp_path / "alone"), records(tmp_path / "stacked")
    for seed, record in alone.items():
        assert stacked[seed]["status"] == "failed"
        assert stacked[seed]["failure"] == record["failure"] and "nan" in record["failure"]


def test_finished_seeds_are_skipped_and_the_others_stack(tmp_path):
    one = [arg if arg != "0-1" else "0" for arg in TINY]
    invoke("--method", "darts", *one, "--stack-seeds", "off", "--results", str(tmp_path))
    result = invoke("--method", "darts", *[arg if arg != "0-1" else "0-2" for arg in TINY], "--stack-seeds", "on",
                    "--results", str(tmp_path))
    assert "seed 0: already finished" in result.output
    assert {seed: r["stacked_seeds"] for seed, r in records(tmp_path).items()} == {0: 1, 1: 2, 2: 2}


@pytest.mark.parametrize(("mode", "device", "graphs", "tuned", "stacked"), [
    ("on", "cpu", False, False, True), ("on", "cuda", True, False, True), ("off", "cuda", False, True, False),
    ("auto", "cpu", False, False, False), ("auto", "cpu", True, True, False), ("auto", "cuda", False, False, True),
    ("auto", "cuda", True, False, False),  # graphed seeds stacked measured slower than one after another
    ("auto", "cuda", True, True, True),  # with cuDNN's autotuning, faster (H200: 94.5 ms against 4 × 33.6)
])
def test_auto_stacks_on_cuda_unless_graphs_without_cudnn_autotuning(mode, device, graphs, tuned, stacked):
    assert stacks_seeds(mode, torch.device(device), {"cuda_graphs": graphs, "cudnn_benchmark": tuned}) is stacked

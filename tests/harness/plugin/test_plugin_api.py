"""What a third-party plugin author relies on: a broken plugin is a failed record (not a
traceback or a checkpoint to resume into), names cannot silently clash, optimizers know the
epoch and step, hooks know a resume, and plugins are tested in process with the public helper."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from tiny import tiny_run

from harness import (
    ArchOptimizer,
    Method,
    Proxy,
    SearchStep,
    Trainer,
    UserError,
    arch_gradient,
    hookimpl,
    plugin_installed,
    run_nasbench,
)
from harness.plugin.manager import get_plugins, load_plugins

TINY = ["--dataset", "synthetic", "--epochs", "2", "--device", "cpu", "--set", "space.options.C=4",
        "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16", "--benchmark", "retrain",
        "--set", "benchmarks.options.retrain.epochs=1", "--set", "benchmarks.options.retrain.C=4"]


class HardSample(ArchOptimizer):
    """A GDAS-like optimizer whose forward uses a hard one-hot (no straight-through path)."""

    name = "hard"

    def attach(self, space, supernet, run) -> None:
        if BROKEN.get("attach"):
            raise RuntimeError("no GPU kernel for hard sampling")
        self.alpha = torch.zeros(space.num_edges, space.num_ops, device=run.device, requires_grad=True)
        self.seen: list[tuple[int, int]] = []

    def mixing_weights(self, training: bool) -> torch.Tensor:
        return F.one_hot(self.alpha.detach().argmax(-1), self.alpha.shape[-1]).float()

    def logits(self) -> torch.Tensor:
        return self.alpha.detach()

    def step(self, step: SearchStep) -> None:
        self.seen.append((step.epoch, step.step))
        STEPS.append((step.epoch, step.step))
        grad = arch_gradient(step, self.alpha, lambda a: F.one_hot(a.argmax(-1), a.shape[-1]).float())
        assert torch.equal(grad, torch.zeros_like(self.alpha))
        if BROKEN["epoch"] is not None and step.epoch == BROKEN["epoch"]:
            raise ValueError("temperature schedule went negative")

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha.detach().clone(), "seen": [list(pair) for pair in self.seen]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.alpha.copy_(state["alpha"])
        self.seen = [tuple(pair) for pair in state["seen"]]


BROKEN: dict[str, int | None] = {"epoch": None, "interrupt": None, "attach": None, "start": None, "end": None}
EVENTS: list[tuple[str, Any]] = []
STEPS: list[tuple[int, int]] = []


class HardPlugin:
    """A third-party plugin: an optimizer, a method that uses it, lifecycle hooks."""

    @hookimpl
    def nasbench_register_optimizers(self, register):
        register("hard", HardSample)

    @hookimpl
    def nasbench_register_methods(self, register):
        register("hard", lambda: Method("hard", "hard", "argmax", "hard one-hot samples, GDAS-like"))

    @hookimpl
    def nasbench_run_start(self, run):
        if BROKEN.get("start") == run.seed:
            raise RuntimeError("tracking server refused the run")
        EVENTS.append(("start", run.resumed))

    @hookimpl
    def nasbench_epoch_end(self, run, row):
        EVENTS.append(("epoch", row["epoch"]))
        if BROKEN.get("interrupt") == row["epoch"]:
            raise KeyboardInterrupt

    @hookimpl
    def nasbench_run_end(self, run, record):
        if BROKEN.get("end") == run.seed:
            raise KeyError("boom in run_end")
        EVENTS.append(("end", record["status"]))


@pytest.fixture
def hard_plugin():
    EVENTS.clear()
    STEPS.clear()
    BROKEN.update(epoch=None, interrupt=None, attach=None, start=None, end=None)
    with plugin_installed(HardPlugin()) as plugins:
        yield plugins


def only_record(root: Path) -> dict:
    (path,) = root.rglob("record.json")
    return json.loads(path.read_text())


def test_arch_gradient_is_zero_where_the_weights_do_not_reach_the_loss(tmp_path):
    run = tiny_run(tmp_path)
    space = run.space
    supernet = space.build_supernet(run.dataset, {})
    optimizer = HardSample()
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    batch = next(trainer.train_stream)
    hard = lambda a: F.one_hot(a.argmax(-1), a.shape[-1]).float()
    for unrolled in (False, True):
        grad = arch_gradient(SearchStep(trainer, batch, batch), optimizer.alpha, hard, unrolled=unrolled)
        assert torch.equal(grad, torch.zeros_like(optimizer.alpha))


def test_optimizers_are_told_the_epoch_and_step_and_hooks_see_a_fresh_start(hard_plugin, tmp_path):
    result = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert only_record(tmp_path)["status"] == "finished"
    assert EVENTS == [("start", 0), ("epoch", 1), ("epoch", 2), ("end", "finished")]
    assert STEPS == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_a_resumed_run_says_so_to_the_hooks_and_keeps_counting_epochs(hard_plugin, tmp_path):
    BROKEN["interrupt"] = 1
    aborted = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert aborted.exit_code == 130
    BROKEN["interrupt"] = None
    EVENTS.clear()
    STEPS.clear()
    result = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert EVENTS == [("start", 1), ("epoch", 2), ("end", "finished")]
    assert STEPS == [(1, 0), (1, 1)]


def test_a_plugin_exception_is_a_failed_record_with_run_end_and_no_checkpoint(hard_plugin, tmp_path):
    BROKEN["epoch"] = 1
    result = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert "Traceback" not in result.output
    assert "hard seed 0: failed: ValueError: temperature schedule went negative (at test_plugin_api.py:" in result.output
    record = only_record(tmp_path)
    assert record["status"] == "failed" and record["failure"].startswith("ValueError: temperature schedule")
    assert record["epochs"] == 1
    assert EVENTS[-1] == ("end", "failed")
    assert not list(tmp_path.rglob("*.pt"))

    BROKEN["epoch"] = None  # the plugin is fixed
    again = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert "already failed" in again.output and "(skipped; --retry-failed runs it again)" in again.output
    assert "all 1 runs failed; nothing to tabulate" in again.output
    assert "a failed seed stays failed until `nasbench run` is given --retry-failed" in again.output
    retried = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path), "--retry-failed")
    assert retried.exit_code == 0 and "resuming" not in retried.output
    assert only_record(tmp_path)["status"] == "finished" and only_record(tmp_path)["epochs"] == 2


def test_a_plugin_failing_at_run_end_keeps_the_written_record_and_the_other_seeds_go_on(hard_plugin, tmp_path):
    BROKEN["end"] = 0
    result = run_nasbench("run", "--method", "hard", *TINY, "--seeds", "0-1", "--workers", "1",
                          "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert ("hard seed 0: warning: a plugin's nasbench_run_end failed (KeyError: 'boom in run_end' "
            "(at test_plugin_api.py:") in result.output
    assert "the record is kept as finished" in result.output
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("record.json"))]
    assert [r["status"] for r in records] == ["finished", "finished"]
    assert EVENTS.count(("end", "finished")) == 1  # seed 1's


def test_a_plugin_failing_at_run_start_of_a_stacked_seed_fails_that_seed_only(hard_plugin, tmp_path):
    BROKEN["start"] = 1
    result = run_nasbench("run", "--method", "darts", *TINY, "--seeds", "0-2", "--stack-seeds", "on",
                          "--results", str(tmp_path))
    assert "Traceback" not in result.output
    assert "darts seed 1: failed: RuntimeError: tracking server refused the run (at test_plugin_api.py:" in result.output
    records = {r["seed"]: r for r in (json.loads(p.read_text()) for p in tmp_path.rglob("record.json"))}
    assert {seed: r["status"] for seed, r in records.items()} == {0: "finished", 1: "failed", 2: "finished"}
    assert records[0]["stacked_seeds"] == records[2]["stacked_seeds"] == 2


def test_a_dataset_failing_to_load_is_one_line_naming_where(tmp_path, monkeypatch):
    from plugins.datasets.synthetic import SyntheticDataset

    def load(self, data_dir):
        raise FileNotFoundError("blobs.npz missing")

    monkeypatch.setattr(SyntheticDataset, "load", load)
    result = run_nasbench("run", "--method", "darts", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("Error: dataset synthetic could not load its data: FileNotFoundError: blobs.npz missing "
            "(at test_plugin_api.py:") in result.output


def test_a_failure_names_the_file_by_its_import_path_since_many_plugins_have_an_init_py():
    import pluggy

    from harness.plugin import failures

    with pytest.raises(json.JSONDecodeError) as error:
        json.loads("{")
    assert "(at json/decoder.py:" in failures.describe_exception(error.value)
    assert failures.import_path(failures.__file__) == "harness/plugin/failures.py"
    assert failures.import_path(pluggy.__file__) == "pluggy/__init__.py"


def test_a_benchmark_answering_a_non_number_fails_the_seed_where_it_answers(tmp_path, monkeypatch):
    """It used to be written into a finished record, which every table then left out as damaged."""
    from plugins.retrain.evaluator import RetrainEvaluator

    monkeypatch.setattr(RetrainEvaluator, "query", lambda self, space, arch: {"synthetic/test_acc": "high"})
    result = run_nasbench("run", "--method", "darts", *TINY, "--results", str(tmp_path))
    assert ("darts seed 0: failed: TypeError: benchmark retrain answered 'synthetic/test_acc' = 'high': metrics "
            "are finite numbers") in result.output
    assert only_record(tmp_path)["status"] == "failed"


def test_a_plugin_failing_to_build_is_a_failed_record_too(hard_plugin, tmp_path):
    BROKEN["attach"] = 1
    result = run_nasbench("run", "--method", "hard", *TINY, "--seeds", "0-1", "--results", str(tmp_path))
    assert "Traceback" not in result.output
    assert "hard seed 1: failed: RuntimeError: no GPU kernel for hard sampling (at test_plugin_api.py:" in result.output
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("record.json"))]
    assert [r["status"] for r in records] == ["failed", "failed"] and records[1]["seed"] == 1


def test_a_checkpoint_of_other_plugin_versions_is_not_resumed(hard_plugin, tmp_path, monkeypatch):
    BROKEN["interrupt"] = 1
    run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert list(tmp_path.rglob("checkpoint.pt"))
    BROKEN["interrupt"] = None
    real = type(hard_plugin).version_of
    monkeypatch.setattr(type(hard_plugin), "version_of",
                        lambda self, kind, name: "nasbench-hard 0.2" if kind == "optimizer" else real(self, kind, name))
    EVENTS.clear()
    result = run_nasbench("run", "--method", "hard", *TINY, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "written by other plugin versions (optimizer hard); starting over" in result.output
    assert EVENTS[0] == ("start", 0) and only_record(tmp_path)["epochs"] == 2


def test_a_method_states_its_description_once(hard_plugin):
    (entry,) = [e for e in hard_plugin["method"].entries() if e.name == "hard"]
    assert entry.description == "hard one-hot samples, GDAS-like"
    listed = run_nasbench("list", "method")
    assert "hard one-hot samples, GDAS-like  [HardPlugin]" in listed.output


class ImageStatistic(Proxy):
    """Needs real images but no labels (a Jacobian-covariance-like score)."""

    name = "image-stat"
    needs_labels = False

    def score(self, network, inputs, targets, loss_fn):
        return float(inputs.std())


def test_a_proxy_can_declare_that_it_needs_real_inputs():
    from plugins.proxies.correlate import correlate

    assert ImageStatistic.needs_inputs and not get_plugins()["proxy"].create("synflow").needs_inputs
    with pytest.raises(UserError, match="needs real data"):
        correlate(None, None, {"image-stat": ImageStatistic()}, "x", None, None, 1, 0, {}, torch.device("cpu"))


def test_plugin_installed_restores_the_previous_plugins():
    before = get_plugins()
    with plugin_installed(HardPlugin()) as plugins:
        assert get_plugins() is plugins and "hard" in plugins["optimizer"]
    assert get_plugins() is before and "hard" not in before["optimizer"]


def test_two_plugins_registering_one_component_name_are_named(hard_plugin):
    with pytest.raises(UserError, match="optimizer 'hard' is registered twice"):
        load_plugins([HardPlugin(), type("Again", (HardPlugin,), {})()], from_entry_points=False)

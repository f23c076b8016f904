"""`nasbench bench` through click on tiny settings: figures consistent with each other and the method."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from harness.cli.main import build_cli
from harness.experiment import seed_workers
from harness.experiment.bench import CIFAR10_SEARCH_HALF

TINY = ["-C", "2", "-N", "1", "--resolution", "8", "--batch-size", "8", "--steps", "2", "--repeats", "1",
        "--eval-images", "16", "--device", "cpu", "--threads", "1"]


def bench(*args: str) -> dict:
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("method, bilevel, epochs", [("darts", True, 50), ("darts-pt-fixalpha", False, 100)])
def test_bench_figures_add_up(method, bilevel, epochs):
    report = bench("--method", method)
    assert report["method"] == method and report["bilevel"] is bilevel
    assert report["space_options"]["C"] == 2 and report["space_options"]["cell"] == "fused"
    images = 8 * (2 if bilevel else 1)  # a bilevel step reads a train and a validation batch
    assert report["step_images_per_second"] == pytest.approx(images / report["step_seconds"])
    assert report["loop_images_per_second"] == pytest.approx(images / report["loop_step_seconds"])
    epoch = (CIFAR10_SEARCH_HALF // 8) * report["loop_step_seconds"] + CIFAR10_SEARCH_HALF / report[
        "eval_images_per_second"]
    assert report["epoch_seconds"] == pytest.approx(epoch)
    assert report["epochs"] == epochs  # the method's CIFAR-10 epochs (DARTS 50, darts-pt 100)
    assert report["search_seconds"] == pytest.approx(epochs * epoch)


def test_bench_text_names_the_cost_table_figures():
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--set", "space.options.cell=per_op",
                                              "--set", "search.channels_last=true"])
    assert result.exit_code == 0, result.output
    assert "cell=per_op" in result.output
    assert "cpu (1 thread, allocator system), channels_last\n" in result.output  # the GPU-path settings in force
    assert "seconds per epoch on this device (CIFAR-10 search split, 25,000/25,000)" in result.output
    assert "projected search cost (50 epochs)" in result.output


def test_bench_bad_input_is_one_line():
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--resolution", "10"])
    assert result.exit_code == 2
    assert "divisible by 4; dataset bench (--resolution) has 10" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--method", "random"])
    assert result.exit_code == 2 and "random trains no supernet (0 search epochs)" in result.output
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--steps", "0"])
    assert result.exit_code == 2 and "--steps" in result.output
    result = CliRunner().invoke(build_cli(), ["bench", *TINY, "--set", "search.cuda_graphs=true"])
    assert result.exit_code == 2 and "search.cuda_graphs needs a CUDA device" in result.output
    assert "Traceback" not in result.output


def test_bench_times_stacked_seeds_and_says_when_a_method_cannot_stack():
    report = bench("--stacked-seeds", "3")
    assert report["stacked_seeds"] == 3 and report["stacked_step_seconds"] > 0
    text = CliRunner().invoke(build_cli(), ["bench", *TINY, "--stacked-seeds", "3"])
    assert "3 stacked seeds (one vmapped model): search step" in text.output and "one seed's step" in text.output
    refused = CliRunner().invoke(build_cli(), ["bench", *TINY, "--stacked-seeds", "2", "--set", "optimizer.options.order=2"])
    assert refused.exit_code == 2 and "cannot train stacked here" in refused.output and "Traceback" not in refused.output
    assert bench()["stacked_step_seconds"] is None


def test_more_threads_than_cores_get_a_note(monkeypatch):
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 2)
    threads = torch.get_num_threads()
    try:
        spare = CliRunner().invoke(build_cli(), ["bench", *TINY, "--threads", "3"])
        fitting = CliRunner().invoke(build_cli(), ["bench", *TINY, "--threads", "2"])
    finally:
        torch.set_num_threads(threads)
    assert spare.exit_code == 0 and fitting.exit_code == 0, spare.output + fitting.output
    assert "note: --threads 3 is more than the 2 cores this process may use" in spare.output
    assert "note: --threads" not in fitting.output

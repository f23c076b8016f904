"""Methods that differ only in their selector share one trained supernet per seed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from harness.cli.main import build_cli
from harness.experiment.config import search_key
from harness.store.records import load_records
from harness.store.supernets import SUPERNETS

TINY = ["--dataset", "synthetic", "--epochs", "2", "--device", "cpu", "--set", "space.options.C=4",
        "--set", "search.max_steps_per_epoch=3", "--set", "search.batch_size=16", "--benchmark", "retrain",
        "--set", "benchmarks.options.retrain.epochs=1", "--set", "benchmarks.options.retrain.C=4"]
PROXY = ["--set", "selector.options.k=4"]


def invoke(*args):
    result = CliRunner().invoke(build_cli(), ["run", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_a_second_method_starts_from_the_first_ones_supernet_and_records_what_training_gives(tmp_path):
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    invoke("--method", "balenas", *TINY, "--seeds", "0-1", "--results", str(shared))
    kept = sorted(p.name for p in (shared / SUPERNETS).rglob("*.pt"))
    assert kept == ["seed-0.pt", "seed-1.pt"]
    reused = invoke("--method", "balenas-tf", *TINY, *PROXY, "--seeds", "0-1", "--results", str(shared))
    assert reused.output.count("starting from the supernet trained in") == 2
    invoke("--method", "balenas-tf", *TINY, *PROXY, "--seeds", "0-1", "--results", str(alone))

    a, b = load_records(shared / "balenas-tf"), load_records(alone / "balenas-tf")
    assert a["arch"].tolist() == b["arch"].tolist()
    assert a["synthetic/test_acc"].tolist() == b["synthetic/test_acc"].tolist()
    assert a["synthetic/supernet_valid_acc"].tolist() == b["synthetic/supernet_valid_acc"].tolist()
    for seed in (0, 1):
        (mine,) = [json.loads(p.read_text()) for p in (shared / "balenas-tf").rglob(f"seed-{seed}/record.json")]
        (origin,) = list((shared / "balenas").rglob(f"seed-{seed}"))
        assert mine["supernet_from"] == origin.relative_to(shared).as_posix()
        assert mine["search_seconds"] == json.loads((origin / "record.json").read_text())["search_seconds"]
    ours = next((shared / "balenas-tf").rglob("seed-0/trajectory.csv")).read_text()
    theirs = next((shared / "balenas").rglob("seed-0/trajectory.csv")).read_text()
    assert ours == theirs
    assert not list((shared / "balenas-tf").rglob("checkpoint.pt"))


def test_other_search_settings_or_opting_out_train_anew(tmp_path):
    invoke("--method", "balenas", *TINY, "--results", str(tmp_path))
    other = invoke("--method", "balenas-tf", *TINY, *PROXY, "--set", "search.lr=0.05", "--results", str(tmp_path))
    assert "starting from the supernet" not in other.output
    fresh = invoke("--method", "balenas-tf", *TINY, *PROXY, "--label", "fresh", "--no-reuse-supernets",
                   "--results", str(tmp_path))
    assert "starting from the supernet" not in fresh.output
    assert all(r["supernet_from"] is None for r in
               (json.loads(p.read_text()) for p in (tmp_path / "balenas-tf").rglob("record.json")))


def test_a_corrupt_kept_supernet_is_named_and_never_copied_into_a_run(tmp_path):
    small = ["--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--set", "space.options.C=4",
             "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16", "--results", str(tmp_path)]
    invoke("--method", "darts", *small)
    (kept,) = (tmp_path / SUPERNETS).rglob("seed-0.pt")
    with kept.open("r+b") as stream:
        stream.truncate(100)
    result = CliRunner().invoke(build_cli(), ["run", "--method", "darts-pt", *small])
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert f"{SUPERNETS}/{kept.parent.name}/seed-0.pt is not a checkpoint" in line
    assert line.endswith("delete it to train the supernet anew, or pass --no-reuse-supernets")
    assert not list((tmp_path / "darts-pt").rglob("checkpoint.pt"))


def test_the_search_key_ignores_exactly_method_label_selector_seed_and_device():
    config = {"method": "darts", "label": "x", "selector": {"name": "argmax"}, "seed": 0, "device": "cpu",
              "optimizer": {"name": "darts"}, "search": {"epochs": 5}, "space": {"name": "nb201"}}
    same = {**config, "method": "darts-pt", "label": "y", "selector": {"name": "pt"}, "seed": 3, "device": "cuda"}
    assert search_key(config) == search_key(same)
    for section, value in (("optimizer", {"name": "balenas"}), ("search", {"epochs": 6}), ("space", {"name": "b"})):
        assert search_key({**config, section: value}) != search_key(config)


GATED_RUN = """
import sys, time
from pathlib import Path
from harness import hookimpl
from harness.plugin.manager import get_plugins
from harness.cli.main import main

gate = Path(sys.argv[1])

class Gate:
    @hookimpl
    def nasbench_run_start(self, run):
        while not gate.exists():  # holds the search (and the supernet's claim) until the test opens the gate
            time.sleep(0.05)

get_plugins().manager.register(Gate())
sys.argv = ["nasbench", *sys.argv[2:]]
main()
"""


def test_a_seed_whose_supernet_another_process_trains_waits_and_starts_from_it(tmp_path):
    results, gate = tmp_path / "runs", tmp_path / "gate"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def start(method: str, log: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", GATED_RUN, str(gate), "run", "--method", method, *TINY,
                                 "--results", str(results), "--workers", "1"],
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)

    def wait_for(condition, what: str) -> None:
        deadline = time.monotonic() + 120
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    origin = start("darts", tmp_path / "darts.log")
    processes = [origin]
    try:
        wait_for(lambda: list(results.glob(f"{SUPERNETS}/*/seed-0/.lock")), "darts to claim its supernet")
        reusing = start("darts-pt", tmp_path / "darts-pt.log")
        processes.append(reusing)
        wait_for(lambda: "which trains the same supernet" in (tmp_path / "darts-pt.log").read_text(),
                 "darts-pt to wait for it")
        assert f"waiting for pid {origin.pid} on" in (tmp_path / "darts-pt.log").read_text()
        gate.touch()
        assert origin.wait(timeout=180) == 0 and reusing.wait(timeout=180) == 0
    finally:
        for process in processes:
            process.kill()
    assert "starting from the supernet trained in" in (tmp_path / "darts-pt.log").read_text()
    ours = next((results / "darts-pt").rglob("seed-0/trajectory.csv")).read_text()
    assert ours == next((results / "darts").rglob("seed-0/trajectory.csv")).read_text()
    assert [p.name for p in (results / SUPERNETS).rglob("*")] == [next((results / SUPERNETS).iterdir()).name,
                                                                 "seed-0.pt"]  # the claim is gone

"""Executors: the same records from local, local-gpus (CPU workers) and a real local Ray cluster with a killed worker."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness import Task, UserError
from harness.cli.report import parse_executor_options
from harness.experiment.execute import Progress, execute
from harness.plugin.manager import get_plugins

CONFIG = {"space": {"options": {"C": 4}}, "search": {"max_steps_per_epoch": 3, "batch_size": 16, "epochs": 8},
          "benchmarks": {"names": ["retrain"], "options": {"retrain": {"epochs": 1, "C": 4}}}, "threads": 1}


def tasks(root: Path, seeds=(0, 1)) -> list[Task]:
    return [Task("darts", "synthetic", CONFIG, tuple(seeds), "cpu", str(root))]


def records(folders: list[Path]) -> list[dict]:
    kept = ("arch", "metrics", "epochs", "seed", "status")
    return [{k: v for k, v in json.loads((f / "record.json").read_text()).items() if k in kept} for f in folders]


@pytest.fixture(scope="module")
def local_records(tmp_path_factory) -> list[dict]:
    root = tmp_path_factory.mktemp("local")
    return records(execute(tasks(root), "local"))


def test_progress_counts_runs_and_estimates_the_rest(capsys):
    progress = Progress(4, "suite s")
    progress.started -= 60
    progress(Path("a"))
    line = capsys.readouterr().err
    assert "[suite s] 1/4 runs done (25%), 1m00s elapsed, ETA 3m00s" in line


def test_local_gpus_workers_give_the_local_records_and_log_where_they_run(tmp_path, local_records):
    loggers = ("tensorboard",) if importlib.util.find_spec("tensorboard") else ()
    work = [replace(task, loggers=loggers) for task in tasks(tmp_path)]
    folders = execute(work, "local-gpus", {"devices": ["cpu", "cpu"]})
    assert records(folders) == local_records
    if loggers:  # the workers' lifecycle hooks fed the logger
        assert [any((tmp_path / "tensorboard" / "/".join(f.parts[-4:])).glob("events.*")) for f in folders] == [True] * 2


@pytest.mark.parametrize("typed, devices", [("devices=[cpu,cpu]", ["cpu", "cpu"]), ("devices=[0,2]", ["0", "2"])])
def test_local_gpus_takes_the_devices_as_the_readme_spells_them(typed, devices):
    options = parse_executor_options((typed,))
    assert get_plugins()["executor"].create("local-gpus", options).options.devices == devices


def test_local_gpus_without_a_gpu_is_one_line(tmp_path, monkeypatch):
    import plugins.executors.local_gpus as local_gpus

    monkeypatch.setattr(local_gpus, "visible_gpus", lambda: [])
    with pytest.raises(UserError, match="found no CUDA GPU"):
        execute(tasks(tmp_path), "local-gpus")


@pytest.mark.parametrize("devices", [["nosuch"], ["cuda:3"], ["cpu", "2"]])
def test_local_gpus_refuses_a_device_that_is_not_cpu_or_a_visible_gpu(tmp_path, monkeypatch, devices):
    import plugins.executors.local_gpus as local_gpus

    monkeypatch.setattr(local_gpus, "visible_gpus", lambda: ["0", "1"])
    with pytest.raises(UserError, match=f"'{devices[-1]}' is neither cpu nor the index of a visible GPU "
                                        "\\(GPUs 0..1 are visible\\)"):
        execute(tasks(tmp_path), "local-gpus", {"devices": devices})
    assert not list(tmp_path.iterdir())  # refused before any worker started


def test_executors_are_listed_with_their_options():
    registry = get_plugins()["executor"]
    assert registry.names() == ["local", "local-gpus", "ray"]
    assert "max_retries" in registry.get("ray").listed_options.model_fields


def kill_the_worker_mid_run(root: Path, killed: list[int]) -> None:
    """Wait until seed 0 has an epoch checkpoint and no record, then kill -9 the process holding its lock."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for checkpoint in root.rglob("seed-0/checkpoint.pt"):
            lock = checkpoint.parent / ".lock"
            holder = lock.read_text().split() if lock.exists() else []
            if holder and not (checkpoint.parent / "record.json").exists():
                os.kill(int(holder[0]), signal.SIGKILL)
                killed.append(int(holder[0]))
                return
        time.sleep(0.02)


def test_ray_retries_a_killed_worker_and_gives_the_local_records(tmp_path, local_records):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        killed: list[int] = []
        killer = threading.Thread(target=kill_the_worker_mid_run, args=(tmp_path, killed), daemon=True)
        killer.start()
        folders = execute(tasks(tmp_path), "ray", {"max_retries": 2})
        killer.join(timeout=1)
    finally:
        ray.shutdown()
    assert killed, "the test did not catch seed 0 between two checkpoints"
    assert records(folders) == local_records

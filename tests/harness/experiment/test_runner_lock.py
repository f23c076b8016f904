"""Two `nasbench run` commands on one results folder compute each seed once, and both end with every seed."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

TINY = ["run", "--method", "random", "--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--seeds", "0-1",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
        "--benchmark", "retrain", "--set", "benchmarks.options.retrain.epochs=1",
        "--set", "benchmarks.options.retrain.C=4", "--workers", "1"]  # the gate holds this process's seeds

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
        while not gate.exists():  # holds the seed (and its lock) until the test opens the gate
            time.sleep(0.05)

get_plugins().manager.register(Gate())
sys.argv = ["nasbench", *sys.argv[2:]]
main()
"""


def start(gate: Path, results: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", GATED_RUN, str(gate), *TINY, "--results", str(results)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_second_command_takes_the_free_seed_then_waits_for_the_busy_one(tmp_path):
    results = tmp_path / "runs"
    first = start(tmp_path / "gate-first", results)
    second = None
    try:
        wait_for(lambda: any(p.read_text() for p in results.rglob("seed-0/.lock")), "the first command to lock seed 0")
        (tmp_path / "gate-second").touch()
        second = start(tmp_path / "gate-second", results)
        wait_for(lambda: list(results.rglob("seed-1/record.json")), "the second command to finish seed 1")
        (tmp_path / "gate-first").touch()
        out_first, err_first = first.communicate(timeout=180)
        out_second, err_second = second.communicate(timeout=180)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert first.returncode == 0 and second.returncode == 0, err_first + err_second
    assert "seed 0: being run by pid" in err_second and "seed 0: waiting for pid" in err_second
    assert "seed 1: already finished" in err_first and "seed 0: already finished" in err_second
    computed = [line for err in (err_first, err_second) for line in err.splitlines() if ": |" in line]
    assert sorted(line.split(":")[0] for line in computed) == ["random seed 0", "random seed 1"]
    assert len(list(results.rglob("record.json"))) == 2
    for out in (out_first, out_second):
        assert "| random | 2 |" in out

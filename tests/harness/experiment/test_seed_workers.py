"""`--workers`: a task's seeds side by side in this process and spawned ones, each ending as it would alone."""
from __future__ import annotations

import json
import multiprocessing
import operator
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness.experiment.seed_workers as seed_workers
from harness import Task, UserError, start_worker
from harness.cli.main import build_cli
from harness.experiment.execute import execute
from harness.experiment.seed_runs import run_task
from harness.experiment.seed_workers import SeedPlan, check_workers, queue_order, seed_processes, worker_count
from harness.experiment.seed_workers import usable_cores as real_usable_cores  # before the suite's fixture replaces it

CONFIG = {"space": {"options": {"C": 4}}, "search": {"max_steps_per_epoch": 3, "batch_size": 16, "epochs": 6},
          "benchmarks": {"names": ["retrain"], "options": {"retrain": {"epochs": 1, "C": 4}}}, "threads": 1}
KEPT = ("arch", "metrics", "epochs", "seed", "status", "optimizer", "config_hash")


def task(root: Path, seeds=(0, 1, 2), workers: str = "1") -> Task:
    return Task("darts", "synthetic", CONFIG, tuple(seeds), "cpu", str(root), workers=workers)


def records(folders: list[Path]) -> list[dict]:
    return [{k: v for k, v in json.loads((f / "record.json").read_text()).items() if k in KEPT} for f in folders]


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> list[dict]:
    return records(execute([task(tmp_path_factory.mktemp("alone"))]))


def plan(device="cpu", threads=1, stack_mode="auto", stacked=False, pending=4) -> SeedPlan:
    return SeedPlan(device, threads, stack_mode, stacked, pending)


@pytest.mark.parametrize("cores, threads, pending, expected", [
    (2, 1, 4, 2), (16, 1, 4, 4), (16, 4, 8, 4), (2, 2, 4, 1), (2, 1, 1, 1), (2, 1, 0, 1), (2, None, 4, 1)])
def test_auto_takes_as_many_processes_as_the_cores_hold_at_the_threads_each(monkeypatch, cores, threads, pending,
                                                                            expected):
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: cores)
    assert worker_count("auto", [plan(threads=threads, pending=pending)]) == expected


@pytest.mark.parametrize("cpu_max, expected", [("max 100000", None), ("200000 100000", 2), ("150000 100000", 2),
                                              ("50000 100000", 1), ("", None), ("12 0", None)])
def test_a_containers_cpu_quota_is_read_as_whole_cpus(cpu_max, expected):
    assert seed_workers.cpu_quota(cpu_max) == expected


def test_usable_cores_are_the_affinity_capped_by_the_quota(monkeypatch, tmp_path):
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(seed_workers, "CGROUP_CPU_MAX", quota)
    affinity = len(os.sched_getaffinity(0))
    assert real_usable_cores() == affinity  # no cgroup file: the affinity
    quota.write_text("100000 100000\n")
    assert real_usable_cores() == 1
    quota.write_text(f"{100000 * (affinity + 3)} 100000\n")
    assert real_usable_cores() == affinity


def test_without_an_affinity_call_the_cores_are_the_machines(monkeypatch, tmp_path):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    monkeypatch.setattr(seed_workers, "CGROUP_CPU_MAX", tmp_path / "none")
    assert real_usable_cores() == 6


def test_auto_counts_the_seeds_of_every_task_and_the_most_threads_any_asks(monkeypatch):
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 16)
    assert worker_count("auto", [plan(pending=1)] * 7) == 7  # a suite's methods, one seed each
    assert worker_count("auto", [plan(threads=2, pending=10), plan(threads=4, pending=10)]) == 4
    assert worker_count("auto", [plan(pending=3), plan(threads=None, pending=0)]) == 3  # nothing left to run there


def test_auto_keeps_one_process_on_cuda_and_for_stacked_seeds(monkeypatch):
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 16)
    assert worker_count("auto", [plan(device="cuda")]) == 1
    assert worker_count("auto", [plan(stack_mode="on", stacked=True), plan()]) == 1


def test_a_number_is_taken_up_to_the_seeds_to_run_and_not_with_stack_seeds_on():
    assert worker_count("3", [plan(device="cuda", threads=None, stacked=True, pending=2)]) == 2
    assert worker_count("1", [plan(stack_mode="on", stacked=True)]) == 1
    with pytest.raises(UserError, match="pass one of the two"):
        worker_count("2", [plan(stack_mode="on", stacked=True)])


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", "２", "AUTO"])
def test_workers_other_than_auto_or_a_count_are_one_line(value):
    with pytest.raises(UserError, match="expected auto or a whole number"):
        check_workers(value)
    result = CliRunner().invoke(build_cli(), ["run", "--workers", value])
    assert result.exit_code == 2 and "Invalid value for '--workers': expected auto" in result.output
    assert "Traceback" not in result.output


def test_seeds_side_by_side_end_as_they_do_one_after_another(tmp_path, alone):
    assert records(execute([task(tmp_path, workers="2")], "local")) == alone


def test_this_process_and_a_worker_share_the_seeds_and_report_each_once(tmp_path, alone):
    here: list[int] = []

    def work(seed_task: Task, done) -> list[Path]:
        """Run the seed (here, where the worker's copy never records); here, wait until the worker
        holds another seed's lock, so that both take part."""
        here.append(seed_task.seeds[0])
        folders = run_task(seed_task, done)
        deadline = time.monotonic() + 120
        while not [lock for lock in tmp_path.rglob(".lock") if int(lock.parent.name[5:]) not in here]:
            assert time.monotonic() < deadline, "the worker never took a seed"
            time.sleep(0.05)
        return folders

    done: list[Path] = []
    folders = seed_workers.run_side_by_side([task(tmp_path)], 2, work_in_worker_or(work), done.append)
    assert records(folders) == alone
    assert sorted(done) == sorted(folders)
    assert 0 < len(here) < 3 and here[0] == 0


def work_in_worker_or(here):
    """``here`` in this process; a spawned worker unpickles plain ``run_task`` (a local function does not pickle)."""
    class Work:
        def __call__(self, seed_task, done):
            return here(seed_task, done)

        def __reduce__(self):
            return operator.itemgetter(0), ((run_task,),)
    return Work()


def test_a_suite_runs_the_seeds_of_all_its_methods_from_one_queue(tmp_path, alone, monkeypatch):
    both = [task(tmp_path, seeds=(0, 1)), replace(task(tmp_path, seeds=(2,)), label="again")]
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 4)
    assert seed_processes([replace(t, workers="auto") for t in both]) == 3
    folders = execute([replace(t, workers="2") for t in both], "local")
    assert records(folders) == alone


def test_finished_seeds_start_no_worker(tmp_path, monkeypatch):
    execute([task(tmp_path, seeds=(0, 1))])
    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 4)
    assert seed_processes([task(tmp_path, seeds=(0, 1, 2), workers="auto")]) == 1
    assert seed_processes([task(tmp_path, seeds=(0, 1, 2, 3), workers="auto")]) == 2


def test_a_damaged_record_stops_the_command_before_any_seed_runs(tmp_path):
    execute([task(tmp_path, seeds=(1,))])
    next(tmp_path.rglob("seed-1/record.json")).write_text("{cut")
    with pytest.raises(UserError, match=r"seed-1/record.json is not valid JSON"):
        execute([task(tmp_path, seeds=(0, 1, 2), workers="2")])
    assert [p.parent.name for p in tmp_path.rglob("record.json")] == ["seed-1"]


def test_a_seed_that_fails_in_either_process_is_one_line_and_the_others_keep_their_records(tmp_path, alone):
    execute([task(tmp_path, seeds=(2,))])
    folder = next(tmp_path.rglob("seed-2"))
    (folder / "record.json").unlink()
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")  # whoever resumes seed 2 refuses it
    with pytest.raises(UserError, match=r"^1 seed\(s\) failed: darts seed 2: \S+/seed-2/checkpoint.pt is not a "
                                        r"checkpoint this harness can load safely"):
        execute([replace(task(tmp_path, workers="2"), reuse_supernets=False)])  # not its kept supernet: the checkpoint
    assert records([p.parent for p in sorted(tmp_path.rglob("record.json"))]) == alone[:2]


def signal_a_worker(root: Path, signalled: list[int], number: int) -> None:
    """Send ``number`` to the first process other than this one that holds a seed's lock."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for lock in root.rglob(".lock"):
            holder = lock.read_text().split()
            if holder and int(holder[0]) != os.getpid() and not (lock.parent / "record.json").exists():
                os.kill(int(holder[0]), number)
                signalled.append(int(holder[0]))
                return
        time.sleep(0.01)


@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_worker_is_one_line_and_the_same_command_resumes_its_seed(tmp_path, alone, capfd, number):
    killed: list[int] = []
    killer = threading.Thread(target=signal_a_worker, args=(tmp_path, killed, number), daemon=True)
    killer.start()
    with pytest.raises(UserError, match=r"^a seed worker exited before seed\(s\) \d ended \(the same command resumes them\)$"):
        execute([task(tmp_path, workers="2")])
    killer.join(timeout=1)
    assert killed
    assert "Traceback" not in capfd.readouterr().err  # SIGTERM, the parent's way to stop a worker, is quiet
    assert records(execute([task(tmp_path, workers="2")])) == alone


def test_ctrl_c_is_for_this_process_a_worker_ignores_it(tmp_path, alone):
    """The terminal sends Ctrl-C to every process of the command; this one decides (and stops the workers)."""
    interrupted: list[int] = []
    thread = threading.Thread(target=signal_a_worker, args=(tmp_path, interrupted, signal.SIGINT), daemon=True)
    thread.start()
    folders = execute([task(tmp_path, workers="2")])
    thread.join(timeout=1)
    assert interrupted
    assert records(folders) == alone


def test_the_cli_passes_workers_to_the_task(tmp_path, monkeypatch):
    seen: list[Task] = []
    monkeypatch.setattr("harness.experiment.execute.run_task", lambda t, done: seen.append(t) or [])
    CliRunner().invoke(build_cli(), ["run", "--workers", "3", "--results", str(tmp_path)])
    assert [t.workers for t in seen] == ["3"]


PARENT = """
import multiprocessing, sys, time
sys.path.insert(0, sys.argv[1])
from blocker import work
from harness.api.executors import start_worker
context = multiprocessing.get_context("spawn")
todo, results = context.Queue(), context.Queue()
todo.put((0, sys.argv[2]))
print(start_worker(context, work, todo, results, {}).pid, flush=True)
time.sleep(600)
"""
BLOCKER = """
import time
from pathlib import Path

def work(marker, done):
    Path(marker).write_text("started")
    time.sleep(600)
"""


def test_a_worker_ends_with_its_parent_killed_before_it_could_stop_it(tmp_path):
    (tmp_path / "blocker.py").write_text(BLOCKER)
    marker = tmp_path / "started"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path), str(marker)], stdout=subprocess.PIPE,
                              text=True)
    try:
        worker = int(parent.stdout.readline())
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the worker never started its task"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 20
    while Path(f"/proc/{worker}").exists() and "zombie" not in Path(f"/proc/{worker}/status").read_text():
        assert time.monotonic() < deadline, "the worker outlived its parent"
        time.sleep(0.05)


def test_a_file_where_a_seeds_folder_goes_is_one_line(tmp_path):
    folder = execute([task(tmp_path, seeds=(0,))])[0]
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    with pytest.raises(UserError, match=r"a file stands where a folder should be .*seed-0\); move it away"):
        execute([task(tmp_path, seeds=(0,))])


def test_sigterm_stops_a_side_by_side_run_quietly_and_resumably(tmp_path, alone):
    command = [sys.executable, "-m", "harness.cli.main", "run", "--method", "darts", "--dataset", "synthetic",
               "--device", "cpu", "--seeds", "0-2", "--workers", "2", "--threads", "1", "--benchmark", "retrain",
               "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=3", "--set", "search.batch_size=16",
               "--set", "search.epochs=6", "--set", "benchmarks.options.retrain.epochs=1",
               "--set", "benchmarks.options.retrain.C=4", "--results", str(tmp_path)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.rglob("checkpoint.pt")):
        assert time.monotonic() < deadline and run.poll() is None, "no seed got as far as a checkpoint"
        time.sleep(0.02)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert "the same command resumes the others from their last epoch checkpoint" in err
    assert records(execute([task(tmp_path, workers="2")])) == alone


TALKER = """
import os, sys

def work(task, done):
    print("to stdout", task)
    print("to stderr", file=sys.stderr)
    sys.stderr.write("bar 10%\\rbar 50%\\rbar done\\n")
    os.write(2, b"straight to file descriptor 2\\n")
    sys.stderr.write("no newline at the end")
    return []
"""


def test_a_workers_output_comes_out_here_line_by_line_above_our_bars(tmp_path, monkeypatch, capsys):
    """Two processes drawing on one terminal garble each other's lines; this one prints the worker's."""
    (tmp_path / "talker.py").write_text(TALKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    from talker import work  # type: ignore[import-not-found]

    context = multiprocessing.get_context("spawn")
    todo, results = context.Queue(), context.Queue()
    todo.put((0, "seed 7"))
    todo.put(None)
    worker = start_worker(context, work, todo, results, {})
    assert results.get(timeout=60) == (0, [], None)
    worker.join()
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["to stdout seed 7", "to stderr", "bar done", "straight to file descriptor 2",
                                         "no newline at the end"]
    assert captured.out == ""


def test_seeds_that_reuse_a_supernet_queue_after_every_seed_that_trains_one(tmp_path):
    def seeds(method: str, root: Path = tmp_path, reuse: bool = True) -> list[Task]:
        return Task(method, "synthetic", CONFIG, (0, 1), "cpu", str(root), reuse_supernets=reuse).per_seed()

    darts, pt, balenas, balenas_tf = seeds("darts"), seeds("darts-pt"), seeds("balenas"), seeds("balenas-tf")
    assert queue_order([*darts, *pt, *balenas, *balenas_tf]) == [0, 1, 4, 5, 2, 3, 6, 7]
    assert queue_order([*pt, *darts]) == [0, 1, 2, 3]  # the first to come trains it
    assert queue_order([*darts, *seeds("darts-pt", reuse=False)]) == [0, 1, 2, 3]
    assert queue_order([*darts, *seeds("darts-pt", root=tmp_path / "other")]) == [0, 1, 2, 3]
    assert queue_order([pt[0], darts[0], darts[1]]) == [0, 2, 1]  # per seed

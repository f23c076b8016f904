"""Seeds side by side on a CPU: this process and spawned workers take a command's seeds from one queue.

On small datasets one seed's run keeps one core busy (``threads = 1``), so seeds run one
after another leave the other cores idle. With ``--workers auto`` the ``local`` executor
runs the seeds of all its tasks (a suite's methods too) at once, each in its own process
with the threads it has alone, so each computes the same bits and writes the same folder.
Workers are spawned, not forked (a fork of a process that ran torch's thread pools is
unsafe): each imports torch and the plugins again, a few seconds this process spends on
its first seed. Seeds on CUDA, or stacked, stay in one process: there the stack is the
faster way (README, "Stacked seeds").
"""
from __future__ import annotations

import math
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.api.errors import UserError
from harness.api.executors import Done, Task, Work, start_worker
from harness.engine.devices import resolve_device
from harness.experiment.checks import resolve_config
from harness.experiment.config import search_key
from harness.experiment.seed_runs import check_stack_mode, needs_running, seed_folder, stacks_seeds
from harness.plugin.manager import get_plugins

AUTO = "auto"
POLL_SECONDS = 0.5
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cores() -> int:
    """The cores this process may use: its affinity, capped by a container's CPU quota (cgroup v2
    ``cpu.max``, e.g. ``docker --cpus 2`` on a larger host), not the machine's count."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; macOS has none
    cores = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    try:
        quota = cpu_quota(CGROUP_CPU_MAX.read_text())
    except OSError:
        return cores
    return min(cores, quota) if quota is not None else cores


def cpu_quota(cpu_max: str) -> int | None:
    """Whole CPUs a cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``) allows, at least 1."""
    quota, _, period = cpu_max.strip().partition(" ")
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def check_workers(value: str) -> str:
    """``auto`` or a whole number ≥ 1, else one line saying so."""
    if value == AUTO or (value.isascii() and value.isdigit() and int(value) >= 1):
        return value
    raise UserError(f"--workers {value!r}: expected auto or a whole number of processes ≥ 1 (1 = one seed after another)")


@dataclass(frozen=True)
class SeedPlan:
    """What decides where a task's seeds run: its device, threads, stacking, and the seeds still to compute."""

    device_type: str
    threads: int | None
    stack_mode: str
    stacked: bool
    pending: int


def seed_plan(task: Task) -> SeedPlan:
    """The task's plan; finished seeds are not pending (they start no worker), and a damaged
    record stops the command here, before any seed runs, as ``run_seeds`` does."""
    check_stack_mode(task.stack_seeds)
    config = resolve_config(get_plugins(), task.method, task.dataset, task.user_config)
    device = resolve_device(task.device)
    folders = [seed_folder(Path(task.results_root), config, seed, device)[1] for seed in task.seeds]
    return SeedPlan(device.type, config.get("threads"), task.stack_seeds,
                    stacks_seeds(task.stack_seeds, device, config["search"]) and len(task.seeds) > 1,
                    sum(needs_running(folder, task.retry_failed) for folder in folders))


def seed_processes(tasks: list[Task]) -> int:
    """How many processes run the seeds of ``tasks`` (one command's, sharing its ``--workers``)."""
    requested = check_workers(tasks[0].workers) if tasks else "1"
    if requested == "1":
        return 1
    return worker_count(requested, [seed_plan(task) for task in tasks])


def worker_count(requested: str, plans: list[SeedPlan]) -> int:
    """``auto``: on a CPU with set thread counts, as many processes as the cores hold, unless a
    task's seeds stack or run on another device. A number is taken as asked (processes share a
    GPU too), but not with ``--stack-seeds on``, which asks for one process."""
    working = [plan for plan in plans if plan.pending]
    pending = sum(plan.pending for plan in working)
    if requested == AUTO:
        if any(plan.device_type != "cpu" or plan.stacked or not plan.threads for plan in working):
            return 1
        threads = max((int(plan.threads or 1) for plan in working), default=1)
        return max(1, min(pending, usable_cores() // threads))
    if int(requested) > 1 and any(plan.stack_mode == "on" for plan in plans):
        raise UserError(f"--workers {requested} runs seeds in separate processes and --stack-seeds on trains them "
                        "as one model in one process: pass one of the two")
    return max(1, min(int(requested), pending))


class Collector:
    """What became of each seed, by position in the queue: folders, a failure, or not started. Results
    of this process come in directly, the workers' through their queue, drained by a thread so a
    progress line comes when a worker's seed ends."""

    def __init__(self, tasks: list[Task], results: Any, done: Done) -> None:
        self.tasks, self.results, self.done = tasks, results, done
        self.folders: dict[int, list[Path]] = {}
        self.errors: dict[int, str] = {}
        self.unstarted: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)

    def add(self, index: int, folders: list[Path], error: str | None) -> None:
        with self.lock:
            if error is not None:
                task = self.tasks[index]
                self.errors[index] = f"{task.method} seed {task.seeds[0]}: {error.rstrip('. ')}"
                return
            self.folders[index] = folders
            for folder in folders:
                self.done(folder)

    def skip(self, index: int) -> None:
        with self.lock:
            self.unstarted.add(index)

    def failed(self) -> bool:
        with self.lock:
            return bool(self.errors)

    def ended(self) -> set[int]:
        with self.lock:
            return set(self.folders) | set(self.errors) | self.unstarted

    def complete(self) -> bool:
        return len(self.ended()) == len(self.tasks)

    def problems(self) -> str | None:
        """One line on the seeds that failed, were lost with a worker, or did not start; None if none."""
        def seeds(indices: set[int] | list[int]) -> str:
            return ", ".join(str(self.tasks[i].seeds[0]) for i in sorted(indices))

        lost = set(range(len(self.tasks))) - self.ended()
        parts = [f"{len(self.errors)} seed(s) failed: " + "; ".join(self.errors[i] for i in sorted(self.errors))] \
            if self.errors else []
        if lost:
            parts.append(f"a seed worker exited before seed(s) {seeds(lost)} ended (the same command resumes them)")
        if self.unstarted:
            parts.append(f"seed(s) {seeds(self.unstarted)} did not start after that")
        return "; ".join(parts) if parts else None

    def _drain(self) -> None:
        while not self.stopped.is_set():
            try:
                index, paths, error = self.results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            self.add(index, [Path(p) for p in paths], error)


def queue_order(tasks: list[Task]) -> list[int]:
    """Positions of the one-seed ``tasks`` in the order workers take them: in order, except that a
    seed whose supernet an earlier one trains (DARTS-PT after DARTS; ``harness.store.supernets``)
    goes after every seed that trains its own, so that it starts from the kept supernet instead of
    training the same one at the same time on another core."""
    plugins = get_plugins()
    trained: set[tuple[str, str, int]] = set()
    own, reusing = [], []
    for index, task in enumerate(tasks):
        if task.reuse_supernets:
            key = (task.results_root, search_key(resolve_config(plugins, task.method, task.dataset, task.user_config)),
                   task.seeds[0])
            if key in trained:
                reusing.append(index)
                continue
            trained.add(key)
        own.append(index)
    return own + reusing


def run_side_by_side(tasks: list[Task], workers: int, work: Work, done: Done) -> list[Path]:
    """Run the seeds of ``tasks`` with ``work``, in this process and ``workers - 1`` spawned ones;
    their folders in task order (seeds in order).

    The seeds in seed order are one queue (``queue_order``); whoever is free takes the next. A seed's failure
    (a ``UserError``, here or in a worker) is reported with the others' at the end, in one
    line; after it this process starts no seed and empties the queue, so the workers stop
    after the seeds they run. Any other error here (a bug, Ctrl-C) stops the workers at once.
    """
    tasks = [replace(seed_task, workers="1") for task in tasks for seed_task in task.per_seed()]
    context = multiprocessing.get_context("spawn")
    todo, results = context.Queue(), context.Queue()
    for index in queue_order(tasks):
        todo.put((index, tasks[index]))
    for _ in range(workers):
        todo.put(None)
    todo.cancel_join_thread()  # seeds nobody took after an error must not hold this process at exit
    collector = Collector(tasks, results, done)
    processes = [start_worker(context, work, todo, results, {}) for _ in range(1, workers)]
    collector.thread.start()
    try:
        while (item := todo.get()) is not None:
            index, seed_task = item
            if collector.failed():
                collector.skip(index)
                continue
            try:
                collector.add(index, work(seed_task, None), None)
            except UserError as exc:
                collector.add(index, [], str(exc))
        while not collector.complete() and any(process.is_alive() for process in processes):
            time.sleep(POLL_SECONDS)
        if not collector.complete():
            time.sleep(2 * POLL_SECONDS)  # a result put just before a worker's exit is still drained
    finally:
        collector.stopped.set()
        for process in processes:
            if process.is_alive() and not collector.complete():
                process.terminate()
            process.join()
    if (problems := collector.problems()) is not None:
        raise UserError(problems)
    return [folder for index in range(len(tasks)) for folder in collector.folders[index]]

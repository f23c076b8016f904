"""Seeds side by side on a CPU: this process and spawned workers take a task's seeds from one queue.

On small datasets one seed's run keeps one core busy (``threads = 1``), so seeds run one
after another leave the other cores idle. ``--workers auto`` runs the seeds of a task at
once, each in its own process with the threads it has alone, so each computes the same
bits and writes the same folder. Workers are spawned, not forked (a fork of a process
that ran torch's thread pools is unsafe): each imports torch and the plugins again, a few
seconds this process spends on its first seed. Seeds on CUDA, or stacked, stay in one
process: there the stack is the faster way (README, "Stacked seeds").
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.api.errors import UserError
from harness.api.executors import Done, Task, Work, serve_tasks

AUTO = "auto"
POLL_SECONDS = 0.5


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def check_workers(value: str) -> str:
    """``auto`` or a whole number ≥ 1, else one line saying so."""
    if value == AUTO or (value.isdigit() and int(value) >= 1):
        return value
    raise UserError(f"--workers {value!r}: expected auto or a whole number of processes ≥ 1 (1 = one seed after another)")


def worker_count(requested: str, device_type: str, threads: int | None, stack_mode: str, stacked: bool,
                 pending: int) -> int:
    """How many processes run a task's ``pending`` seeds.

    ``auto``: on a CPU with a set thread count, as many as the cores hold, unless the seeds
    are stacked. A number is taken as asked (processes share a GPU too), but not with
    ``--stack-seeds on``, which asks for one process.
    """
    if requested == AUTO:
        if device_type != "cpu" or stacked or not threads:
            return 1
        return max(1, min(pending, usable_cores() // threads))
    if int(requested) > 1 and stack_mode == "on":
        raise UserError(f"--workers {requested} runs seeds in separate processes and --stack-seeds on trains them "
                        "as one model in one process: pass one of the two")
    return max(1, min(int(requested), pending))


class Collector:
    """What became of each of a task's seeds, by position: folders, a failure, or not started. Results
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
                self.errors[index] = f"{task.method} seed {task.seeds[0]}: {error}"
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
            parts.append(f"a seed worker exited before seed(s) {seeds(lost)} ended")
        if self.unstarted:
            parts.append(f"seed(s) {seeds(self.unstarted)} did not start after the failure")
        return "; ".join(parts) + "; run the same command again to resume or run them" if parts else None

    def _drain(self) -> None:
        while not self.stopped.is_set():
            try:
                index, paths, error = self.results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            self.add(index, [Path(p) for p in paths], error)


def run_side_by_side(task: Task, workers: int, run_here: Callable[[Task], list[Path]], work: Work,
                     done: Done) -> list[Path]:
    """Run ``task``'s seeds in this process (``run_here``) and ``workers - 1`` spawned ones (``work``).

    The seeds in seed order are one queue; whoever is free takes the next. A seed's failure
    (a ``UserError``, here or in a worker) is reported with the others' at the end, in one
    line; after it this process starts no seed and empties the queue, so the workers stop
    after the seeds they run. Any other error here (a bug, Ctrl-C) stops the workers at once.
    """
    tasks = [replace(seed_task, workers="1") for seed_task in task.per_seed()]
    context = multiprocessing.get_context("spawn")
    todo, results = context.Queue(), context.Queue()
    for index, seed_task in enumerate(tasks):
        todo.put((index, seed_task))
    for _ in range(workers):
        todo.put(None)
    todo.cancel_join_thread()  # seeds nobody took after an error must not hold this process at exit
    collector = Collector(tasks, results, done)
    processes = [start_worker(context, position, work, todo, results) for position in range(1, workers)]
    collector.thread.start()
    try:
        while (item := todo.get()) is not None:
            index, seed_task = item
            if collector.failed():
                collector.skip(index)
                continue
            try:
                collector.add(index, run_here(seed_task), None)
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


def start_worker(context: Any, position: int, work: Work, todo: Any, results: Any) -> Any:
    """A spawned worker; its progress bars go to line ``position`` below this process's (``TQDM_POSITION``)."""
    environment = dict(os.environ)
    os.environ["TQDM_POSITION"] = str(position)
    try:
        process = context.Process(target=serve_tasks, args=(work, todo, results))
        process.start()
    finally:
        os.environ.clear()
        os.environ.update(environment)
    return process

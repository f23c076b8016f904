"""``local``: every task on this machine, its seeds one after another in this process, or on CPUs
side by side in spawned worker processes (``--workers``; ``harness.experiment.seed_workers``)."""
from __future__ import annotations

from pathlib import Path

from harness import Done, Executor, Task, Work, run_side_by_side, seed_processes


class LocalExecutor(Executor):
    name = "local"
    takes_workers = True

    def run(self, tasks: list[Task], work: Work, done: Done) -> list[Path]:
        workers = seed_processes(tasks)
        if workers > 1:
            return run_side_by_side(tasks, workers, work, done)
        return [folder for task in tasks for folder in work(task, done)]

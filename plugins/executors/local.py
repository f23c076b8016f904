"""``local``: every task in this process, one after another (the default, as before executors existed)."""
from __future__ import annotations

from pathlib import Path

from harness import Done, Executor, Task, Work


class LocalExecutor(Executor):
    name = "local"

    def run(self, tasks: list[Task], work: Work, done: Done) -> list[Path]:
        return [folder for task in tasks for folder in work(task, done)]

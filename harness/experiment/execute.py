"""Carrying out a command's tasks with the chosen executor, with one overall progress line per finished run."""
from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from harness.api.errors import UserError
from harness.api.executors import Task
from harness.experiment.seed_runs import run_task
from harness.experiment.seed_workers import AUTO
from harness.plugin.manager import get_plugins


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Runs done out of the total, elapsed time and an ETA (elapsed per run done × runs left).

    Skipped (already finished) runs count as done, so the ETA is optimistic until the
    first computed runs come in; each run's own bar still shows its epochs.
    """

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.total, self.what, self.done = total, what, 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    def __call__(self, folder: Path) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f", ETA {duration(elapsed / self.done * left)}" if left else ""
        tqdm.write(f"[{self.what}] {self.done}/{self.total} runs done ({100 * self.done / self.total:.0f}%), "
                   f"{duration(elapsed)} elapsed{eta} — {folder}", file=self.stream)  # above any open bar


def execute(tasks: list[Task], executor: str = "local", options: Mapping[str, Any] | None = None,
            what: str = "runs") -> list[Path]:
    """Run ``tasks`` with the named executor; the run folders in task order."""
    plugins = get_plugins()
    for name in sorted({name for task in tasks for name in task.loggers}):
        plugins["logger"].get(name)  # an unknown name fails here, before any worker starts
    chosen = plugins["executor"].create(executor, dict(options or {}))
    asked = sorted({task.workers for task in tasks} - {AUTO})
    if asked and not chosen.takes_workers:
        raise UserError(f"--workers {asked[0]}: the {executor} executor places its seeds' processes itself; "
                        "leave --workers out (or use --executor local)")
    progress = Progress(sum(len(task.seeds) for task in tasks), what)
    return chosen.run(tasks, run_task, progress)

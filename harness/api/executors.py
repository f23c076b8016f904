"""The executor contract: where and how the runs of a command are carried out.

A ``Task`` is one method on one dataset for some seeds; ``work(task, done)`` runs it in
the current process (the harness's ``run_task``: resumable, locked per seed, writing to
``task.results_root``). An executor decides where ``work`` runs: in this process one
task after another (``local``), in one worker process per GPU, or on a Ray cluster, one
task per seed. ``done(folder)`` is called once per seed that finished or was skipped,
for the overall progress line.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from harness.api.errors import UserError
from harness.api.options import NoOptions, Options, parse_options

Done = Callable[[Path], None]
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Task:
    """One method on one dataset over ``seeds``; plain data, so it can be sent to another process."""

    method: str
    dataset: str | None
    user_config: dict[str, Any]
    seeds: tuple[int, ...]
    device: str
    results_root: str
    retry_failed: bool = False
    label: str = field(default="", compare=False)
    loggers: tuple[str, ...] = ()
    """``--logger`` names, attached where the task runs (a worker's lifecycle hooks fire in the worker)."""
    reuse_supernets: bool = True
    """Start a seed from a supernet another method already trained with the same settings (``harness.store.supernets``)."""
    stack_seeds: str = "auto"
    """Train seeds that start from the same epoch as one stacked model: auto (on CUDA), on, off."""
    workers: str = "auto"
    """Processes that run the seeds at once (``harness.experiment.seed_workers``): auto (on CPUs), or a number."""

    def per_seed(self) -> list[Task]:
        """The task split into one task per seed (what remote executors schedule)."""
        return [replace(self, seeds=(seed,)) for seed in self.seeds]


Work = Callable[[Task, "Done | None"], list[Path]]


def serve_tasks(work: Work, todo: Any, results: Any, output: Any = None) -> None:
    """A worker process's loop: run ``(index, task)`` items from ``todo`` until ``None``; put
    ``(index, folders, error)`` on ``results``, the error as one line. Ctrl-C is the parent's:
    it stops its workers with SIGTERM, on which a worker exits through Python (its exit
    handlers release what it holds), without a traceback and without taking the next seed.
    ``output``, the writing end of a pipe, receives its stdout and stderr (``Worker``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, exit_on_signal)
    parent = os.getppid()
    _end_with_parent()
    if output is not None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            os.dup2(output.fileno(), stream.fileno())
        output.close()
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    from tqdm import tqdm  # here: `import harness` stays light

    tqdm.set_lock(threading.RLock())  # tqdm's default, a named semaphore, would leak if this worker is killed
    while (item := todo.get()) is not None:
        if os.getppid() != parent:  # the parent died without stopping us: take no further seed
            return
        index, task = item
        try:
            results.put((index, [str(folder) for folder in work(task, None)], None))
        except UserError as exc:
            results.put((index, [], str(exc)))
        except Exception as exc:  # reported to the parent, which names the seed
            results.put((index, [], f"{type(exc).__name__}: {exc}"))


class Worker:
    """A started ``serve_tasks`` process whose output this process prints, a line at a time,
    above its own progress bars.

    Processes drawing bars on one terminal overwrite each other's lines, and a line one of
    them prints lands in the middle of another's bar. So a worker writes into a pipe: it draws
    no bars (``tqdm`` draws none on a pipe), and its messages come out here through
    ``tqdm.write``. ``join`` waits for the last of them.
    """

    RELAY_WAIT_SECONDS = 5.0
    """How long ``join`` waits for what is still in the pipe: a process the worker started (a
    dataset's decoding pool) may hold the pipe open after the worker ended."""

    def __init__(self, process: Any, reader: Any) -> None:
        self.process = process
        self.relay = threading.Thread(target=_relay, args=(reader,), daemon=True)
        self.relay.start()

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def is_alive(self) -> bool:
        return bool(self.process.is_alive())

    def terminate(self) -> None:
        self.process.terminate()

    def join(self) -> None:
        self.process.join()
        self.relay.join(self.RELAY_WAIT_SECONDS)


def _relay(reader: Any) -> None:
    """Print a worker's output, a line at a time, until its pipe closes."""
    from tqdm import tqdm

    pending = b""
    with reader:
        while chunk := os.read(reader.fileno(), 1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                tqdm.write(_last_redraw(line), file=sys.stderr)
    if pending:
        tqdm.write(_last_redraw(pending), file=sys.stderr)


def _last_redraw(line: bytes) -> str:
    """What a terminal shows of ``line``: the text after its last carriage return."""
    return line.decode(errors="replace").rstrip("\r").rsplit("\r", 1)[-1]


def start_worker(context: Any, work: Work, todo: Any, results: Any, environment: dict[str, str]) -> Worker:
    """A started ``serve_tasks`` process of the multiprocessing ``context``, with ``environment``
    added to what it inherits (spawned children read it when they start; this process's is
    restored), its output printed by this process (``Worker``)."""
    reader, writer = context.Pipe(duplex=False)
    saved = dict(os.environ)
    os.environ.update(environment)
    try:
        process = context.Process(target=serve_tasks, args=(work, todo, results, writer))
        process.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        writer.close()  # the worker holds the only writing end: the pipe ends with it
    return Worker(process, reader)


def _end_with_parent() -> None:
    """On Linux, have the kernel send this worker SIGTERM when its parent dies (killed before it could stop it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the check before each task still ends the worker
        pass


def exit_on_signal(signum: int, frame: Any) -> None:
    """A signal handler that ends the process through Python (``finally`` blocks and exit handlers
    run), with the shell's exit status for that signal."""
    raise SystemExit(128 + signum)


class Executor(ABC):
    """Runs tasks somewhere and returns their run folders in task order (seeds in order)."""

    name: str = ""
    Options: ClassVar[type[Options]] = NoOptions
    takes_workers: ClassVar[bool] = False
    """Whether it honours ``--workers`` (``Task.workers``); a number asked of one that places its
    processes itself (one per GPU, a cluster) is refused rather than ignored."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = parse_options(type(self).Options, options, f"executor {self.name or type(self).__name__}",
                                     "--executor-option <name>=<value>")

    @abstractmethod
    def run(self, tasks: list[Task], work: Work, done: Done) -> list[Path]:
        """Carry out every task with ``work``; call ``done`` per seed; failures end as one ``UserError``."""

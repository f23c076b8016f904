"""``local-gpus``: one worker process per GPU, each seeing only its GPU, taking seed tasks from one queue.

Workers are spawned (not forked: CUDA does not survive a fork) with
``CUDA_VISIBLE_DEVICES`` set to their GPU, so a task's ``--device cuda`` is that GPU.
With ``devices = ['cpu', ...]`` the same workers run on the CPU (one thread each).
"""
from __future__ import annotations

import multiprocessing
import queue
from dataclasses import replace
from pathlib import Path

from harness import Done, Executor, Task, UserError, Work, Worker, start_worker
from plugins.executors.options import LocalGpusOptions


def visible_gpus() -> list[str]:
    import torch

    return [str(index) for index in range(torch.cuda.device_count())]


def check_devices(devices: list[str]) -> None:
    """Each entry must be ``cpu`` or a visible GPU's index: a worker given anything else sees no
    GPU and would quietly run on the CPU."""
    visible = visible_gpus()
    for device in devices:
        if device != "cpu" and device not in visible:
            known = f"GPUs 0..{len(visible) - 1} are visible" if visible else "no CUDA GPU is visible here"
            raise UserError(f"--executor-option devices: '{device}' is neither cpu nor the index of a visible GPU "
                            f"({known}); e.g. devices=[0,1] or devices=[cpu,cpu]")


class LocalGpusExecutor(Executor):
    name = "local-gpus"
    Options = LocalGpusOptions
    options: LocalGpusOptions

    def run(self, tasks: list[Task], work: Work, done: Done) -> list[Path]:
        devices = self.options.devices if self.options.devices is not None else visible_gpus()
        if not devices:
            raise UserError("--executor local-gpus found no CUDA GPU; use --executor local, or "
                            "--executor-option devices=[cpu,cpu] for CPU workers")
        check_devices(devices)
        seeds = [task for group in tasks for task in group.per_seed()]
        context = multiprocessing.get_context("spawn")
        todo, results = context.Queue(), context.Queue()
        for index, task in enumerate(seeds):
            device = "cpu" if all(d == "cpu" for d in devices) else task.device.split(":")[0]
            todo.put((index, replace(task, device=device)))
        workers: list[Worker] = []
        for device in devices[:len(seeds)]:
            todo.put(None)
            visible = "" if device == "cpu" else device
            workers.append(start_worker(context, work, todo, results, {"CUDA_VISIBLE_DEVICES": visible}))
        folders: dict[int, list[str]] = {}
        errors: list[str] = []
        try:
            while len(folders) + len(errors) < len(seeds):
                try:
                    index, paths, error = results.get(timeout=5)
                except queue.Empty:
                    if not any(process.is_alive() for process in workers):
                        raise UserError("every local-gpus worker exited before its tasks were done; "
                                        "see the messages above") from None
                    continue
                if error:
                    errors.append(f"{seeds[index].method} seed {seeds[index].seeds[0]}: {error}")
                    continue
                folders[index] = paths
                for path in paths:
                    done(Path(path))
        finally:  # workers are not daemons (a dataset's decoding pool runs in them), so stop them here
            for process in workers:
                if len(folders) + len(errors) < len(seeds):
                    process.terminate()
                process.join()
        if errors:
            raise UserError(f"{len(errors)} task(s) failed: " + "; ".join(errors))
        return [Path(p) for index in range(len(seeds)) for p in folders[index]]

"""``ray``: one Ray task per seed, on the cluster at ``$RAY_ADDRESS`` (or ``address``), else a local Ray.

Every task writes into the same results folder, which must therefore be shared by the
nodes (a network file system; a local Ray needs nothing). A task whose worker dies is
retried up to ``max_retries`` times; the retry resumes the seed from its last epoch
checkpoint (its folder lock died with the worker), so it ends with the record an
uninterrupted run writes. Seeds already finished are skipped by the task itself.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import Done, Executor, Task, UserError, Work
from plugins.executors.options import RayOptions


def remote_work(work: Work, task: Task) -> list[str]:
    return [str(folder) for folder in work(task, None)]


class RayExecutor(Executor):
    name = "ray"
    Options = RayOptions
    options: RayOptions

    def run(self, tasks: list[Task], work: Work, done: Done) -> list[Path]:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'nasbench[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=self.options.address, log_to_driver=True)
        seeds = [task for group in tasks for task in group.per_seed()]
        remote = ray.remote(remote_work).options(num_cpus=self.options.num_cpus, num_gpus=self._gpus(seeds),
                                                  max_retries=self.options.max_retries)
        pending: dict[Any, int] = {remote.remote(work, task): index for index, task in enumerate(seeds)}
        folders: dict[int, list[str]] = {}
        errors: list[str] = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready[0])
            try:
                folders[index] = ray.get(ready[0])
            except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError) as exc:
                errors.append(f"{seeds[index].method} seed {seeds[index].seeds[0]}: {str(exc).splitlines()[0]}")
                continue
            for path in folders[index]:
                done(Path(path))
        if errors:
            raise UserError(f"{len(errors)} Ray task(s) failed: " + "; ".join(errors))
        return [Path(p) for index in range(len(seeds)) for p in folders[index]]

    def _gpus(self, seeds: list[Task]) -> float:
        if self.options.num_gpus is not None:
            return self.options.num_gpus
        return 1.0 if seeds and seeds[0].device.startswith("cuda") else 0.0

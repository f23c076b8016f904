"""Built-in executors: ``local`` (this process), ``local-gpus`` (a worker process per GPU) and ``ray``."""
from __future__ import annotations

from typing import Any

from harness import hookimpl
from plugins.executors.options import LocalGpusOptions, RayOptions


@hookimpl
def nasbench_register_executors(register: Any) -> None:
    register("local", "plugins.executors.local:LocalExecutor",
             "this machine: on CPUs the seeds side by side in spawned worker processes (--workers), else one "
             "after another in this process")
    register("local-gpus", "plugins.executors.local_gpus:LocalGpusExecutor",
             "one worker process per visible GPU, or per entry of devices=[cpu,cpu], one task per seed "
             "(no extra dependency)", options=LocalGpusOptions)
    register("ray", "plugins.executors.ray:RayExecutor",
             "a Ray cluster ($RAY_ADDRESS, else local), one task per seed, retried when its worker dies "
             "(pip install 'nasbench[ray]')", options=RayOptions)

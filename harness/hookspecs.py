"""The hooks a nasbench plugin can implement (pluggy project ``nasbench``).

Registration hooks receive ``register(name, factory, description="")``; what each
factory must return is documented on the hook. Lifecycle hooks are fired by the search
loop for loggers and trackers.
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("nasbench")
hookimpl = pluggy.HookimplMarker("nasbench")

Register = Callable[..., None]


@hookspec
def nasbench_register_search_spaces(register: Register) -> None:
    """Register search spaces: ``factory() -> harness.SearchSpace``."""


@hookspec
def nasbench_register_optimizers(register: Register) -> None:
    """Register architecture optimizers: ``factory(options: dict) -> harness.ArchOptimizer``."""


@hookspec
def nasbench_register_selectors(register: Register) -> None:
    """Register selectors: ``factory(options: dict) -> harness.Selector``."""


@hookspec
def nasbench_register_benchmarks(register: Register) -> None:
    """Register benchmarks: ``factory(options: dict, context: harness.BenchmarkContext) -> harness.Benchmark``."""


@hookspec
def nasbench_register_datasets(register: Register) -> None:
    """Register datasets: ``factory() -> harness.Dataset``."""


@hookspec
def nasbench_register_methods(register: Register) -> None:
    """Register methods: ``factory() -> harness.Method`` (a named preset)."""


@hookspec
def nasbench_register_proxies(register: Register) -> None:
    """Register training-free proxies: ``factory() -> harness.Proxy``."""


@hookspec
def nasbench_run_start(run: Any) -> None:
    """A run begins (``run`` is the ``harness.RunContext``)."""


@hookspec
def nasbench_epoch_end(run: Any, row: dict) -> None:
    """An epoch ended; ``row`` is the trajectory row just recorded."""


@hookspec
def nasbench_run_end(run: Any, record: dict) -> None:
    """A run finished (or failed); ``record`` is what was written to ``record.json``."""


@hookspec
def nasbench_register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``nasbench`` CLI (``cli`` is its click group)."""

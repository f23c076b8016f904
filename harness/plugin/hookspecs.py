"""The hooks a nasbench plugin can implement (pluggy project ``nasbench``).

Registration hooks receive ``register(name, factory, description="", options=None)``
(no description: a ``Method``'s own, or the first docstring line of a factory class);
what each factory must return is documented on the hook (and checked when it is
created). A factory's options are declared by its ``Options`` model (see
``harness.Options``). ``factory`` may be a ``"package.module:Name"`` string, with
``options`` the options model from a light module: then the component's module (and
torch) is imported only when the component is created, which keeps the CLI instant.
Lifecycle hooks are fired by the search loop for loggers and trackers.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from harness.api.run import RunContext

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
def nasbench_register_loggers(register: Register) -> None:
    """Register experiment loggers (``--logger NAME``): ``factory(root: Path) -> harness.RunLogger``."""


@hookspec
def nasbench_register_executors(register: Register) -> None:
    """Register executors (``--executor NAME``): ``factory(options: dict) -> harness.Executor``."""


@hookspec
def nasbench_run_start(run: RunContext) -> None:
    """A run begins; ``run.resumed`` is the number of epochs restored from a checkpoint (0: fresh)."""


@hookspec
def nasbench_epoch_end(run: RunContext, row: dict[str, Any]) -> None:
    """An epoch ended; ``row`` is the trajectory row just recorded."""


@hookspec
def nasbench_run_end(run: RunContext, record: dict[str, Any]) -> None:
    """A run finished (or failed); ``record`` is what was written to ``record.json``."""


@hookspec
def nasbench_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``nasbench`` CLI (``cli`` is its click group)."""

"""``--logger NAME``: experiment loggers attached to a command through the lifecycle hooks."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.api.loggers import RunLogger
from harness.plugin.hookspecs import hookimpl
from harness.plugin.manager import Plugins


class LoggerHooks:
    """Forwards the lifecycle hooks of every run to one logger."""

    def __init__(self, logger: RunLogger) -> None:
        self.logger = logger

    @hookimpl
    def nasbench_run_start(self, run: Any) -> None:
        self.logger.start(run)

    @hookimpl
    def nasbench_epoch_end(self, run: Any, row: dict[str, Any]) -> None:
        self.logger.epoch(run, row)

    @hookimpl
    def nasbench_run_end(self, run: Any, record: dict[str, Any]) -> None:
        self.logger.end(run, record)


@contextmanager
def attached_loggers(plugins: Plugins, names: tuple[str, ...] | list[str], root: Path) -> Iterator[list[RunLogger]]:
    """Create the named loggers (each once) and let them see the runs started inside the block."""
    loggers: list[RunLogger] = [plugins["logger"].create(name, root) for name in dict.fromkeys(names)]
    adapters = [LoggerHooks(logger) for logger in loggers]
    for adapter in adapters:
        plugins.manager.register(adapter)
    try:
        yield loggers
    finally:
        for adapter in adapters:
            plugins.manager.unregister(adapter)

"""The selector contract: a trained supernet and its optimizer in, one architecture out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.api.options import NoOptions, Options, parse_options
from harness.api.spaces import Architecture

if TYPE_CHECKING:
    from harness.api.datasets import DatasetInfo
    from harness.api.optimizers import ArchOptimizer
    from harness.api.run import RunContext, SplitData
    from harness.api.spaces import SearchSpace
    from harness.api.step import TrainerView
    from harness.api.supernet import Supernet


@dataclass
class Selection:
    """The chosen architecture plus what the selector wants recorded.

    ``details`` goes into the run record; ``trajectory`` (one dict per decision) is
    written to ``selection.csv``.
    """

    arch: Architecture
    details: dict[str, Any] = field(default_factory=dict)
    trajectory: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SelectionContext:
    """Everything a selector may use.

    ``trainer`` continues supernet training (``trainer.train_epoch``), evaluates it
    (``trainer.evaluate``) and applies projections (``trainer.projected``); ``query``
    returns the cheap benchmarks' metrics of an architecture; ``rng`` is seeded from the
    run's seed. A selector whose work takes long (PT tunes the supernet between decisions)
    calls ``progress(done, total, message)`` after each step, so that a user sees it move:
    the harness draws a bar on a terminal and prints a line per call in a log.
    """

    run: RunContext
    space: SearchSpace
    dataset: DatasetInfo
    supernet: Supernet
    optimizer: ArchOptimizer
    data: SplitData
    trainer: TrainerView
    query: Callable[[Architecture], dict[str, float]]
    rng: np.random.Generator
    progress: Callable[[int, int, str], None] = lambda done, total, message: None


class Selector(ABC):
    """Turns the search's result into one discrete architecture."""

    Options: ClassVar[type[Options]] = NoOptions

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = parse_options(type(self).Options, options, f"selector {getattr(self, 'name', '') or type(self).__name__}")

    @abstractmethod
    def select(self, ctx: SelectionContext) -> Selection:
        ...

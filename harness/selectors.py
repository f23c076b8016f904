"""The selector contract: a trained supernet and its optimizer in, one architecture out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from harness.spaces import Architecture

if TYPE_CHECKING:
    from harness.datasets import DatasetInfo
    from harness.optimizers import ArchOptimizer
    from harness.run import RunContext
    from harness.data import SearchData
    from harness.search import Trainer
    from harness.spaces import SearchSpace, Supernet


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

    ``trainer`` continues supernet training (``trainer.train_epochs``) and evaluates it
    (``trainer.evaluate``); ``query`` returns the cheap benchmarks' metrics of an
    architecture; ``rng`` is seeded from the run's seed.
    """

    run: "RunContext"
    space: "SearchSpace"
    dataset: "DatasetInfo"
    supernet: "Supernet"
    optimizer: "ArchOptimizer"
    data: "SearchData"
    trainer: "Trainer"
    query: Callable[[Architecture], dict[str, float]]
    rng: np.random.Generator


class Selector(ABC):
    """Turns the search's result into one discrete architecture."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = dict(options)

    @abstractmethod
    def select(self, ctx: SelectionContext) -> Selection:
        ...

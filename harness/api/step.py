"""What an architecture optimizer and a selector may use of the supernet's training.

The engine's trainer implements :class:`TrainerView`; optimizers and selectors see only
this protocol, so the contracts in ``harness.api`` depend on no engine module and a
plugin can be tested against a stand-in.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

Batch = tuple["torch.Tensor", "torch.Tensor"]
WeightTransform = Callable[["torch.Tensor"], "torch.Tensor"]


class TrainerView(Protocol):
    """The supernet trainer as optimizers and selectors see it."""

    @property
    def search(self) -> Mapping[str, Any]:
        """The run's ``search`` settings (epochs, lr, momentum, weight_decay, ...)."""

    def loss(self, batch: Batch, weights: torch.Tensor, weight_grads: bool = True) -> torch.Tensor:
        """Supernet loss on ``batch`` with op ``weights`` (any active projection applied); with
        ``weight_grads=False`` the supernet weights are constants in it (only ∇ w.r.t. ``weights``)."""

    def weight_parameters(self) -> list[torch.Tensor]:
        """The supernet's trainable weights w."""

    def momentum_buffer(self, parameter: torch.Tensor) -> torch.Tensor | None:
        """The weight optimizer's momentum for ``parameter`` (None before its first step)."""

    def current_lr(self) -> float:
        """The weight learning rate of the current epoch."""

    def evaluate(self, split: str = "valid", weights: torch.Tensor | None = None, bn_train: bool = False,
                 max_batches: int | None = None, augmented: bool = False) -> tuple[float, float]:
        """(accuracy %, mean loss) of the supernet on a split; running BN statistics are left untouched.

        ``augmented``: one shuffled pass in search batches with the training augmentation (the
        validation stream as the search sees it) instead of every image once, in order, plain.
        """

    def train_epoch(self, update_arch: bool = True, lr: float | None = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, float]:
        """One pass over the search-train half (architecture steps too, when ``update_arch``)."""

    def reset_weight_momentum(self) -> None:
        """Forget the weight optimizer's momentum (a freshly built optimizer, as PT's tuning)."""

    def projected(self, transform: WeightTransform) -> AbstractContextManager[None]:
        """Within the block, every op-weight tensor passes through ``transform`` (PT's decided edges)."""


@dataclass
class SearchStep:
    """One architecture step's inputs, handed to ``ArchOptimizer.step``.

    ``epoch`` counts from 0; ``step`` is the architecture step within the epoch.
    """

    trainer: TrainerView
    train_batch: Batch
    val_batch: Batch
    epoch: int = 0
    step: int = 0

    def loss(self, batch: Batch, weights: torch.Tensor, weight_grads: bool = True) -> torch.Tensor:
        """Supernet loss on ``batch`` with op ``weights`` (the trainer's projection applied); see
        ``TrainerView.loss`` for ``weight_grads``."""
        return self.trainer.loss(batch, weights, weight_grads)

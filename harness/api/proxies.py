"""The training-free proxy contract: score a network at initialization."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


class Proxy(ABC):
    """A zero-cost score; higher means the architecture is predicted to be better."""

    name: str = ""
    needs_labels: bool = True
    """The score uses ``targets`` (a batch of labelled data)."""
    needs_inputs: bool = True
    """The score uses the images in ``inputs``; a proxy with both flags False (SynFlow) is data-free
    and gets a zero batch of the input's shape when no data is at hand."""

    @abstractmethod
    def score(
        self,
        network: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> float:
        """Score ``network`` (freshly initialized, may be modified) on one batch."""

"""The context one run carries through the loop, the selectors and the lifecycle hooks."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

    from harness.api.datasets import DatasetInfo, ImageSet
    from harness.api.methods import Method
    from harness.api.spaces import SearchSpace


class ComponentRegistry(Protocol):
    """One kind of registered component (what ``run.plugins["proxy"]`` returns)."""

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any: ...

    def names(self) -> list[str]: ...

    def __contains__(self, name: object) -> bool: ...


class Components(Protocol):
    """The loaded plugins, by kind ("search space", "optimizer", "selector", "benchmark",
    "dataset", "method", "proxy"), and the hook relay that fires lifecycle hooks."""

    def __getitem__(self, kind: str) -> ComponentRegistry: ...

    @property
    def hook(self) -> Any: ...


class SplitData(Protocol):
    """The search-train half, the search-validation half and the test set of a run."""

    train: ImageSet
    valid: ImageSet
    test: ImageSet


@dataclass
class RunContext:
    """One run: method × space × dataset × seed, with its resolved config and folder.

    ``resumed`` is the number of epochs restored from a checkpoint (0 on a fresh start).
    """

    config: dict[str, Any]
    method: Method
    space: SearchSpace
    dataset: DatasetInfo
    data: SplitData
    device: torch.device
    seed: int
    out_dir: Path
    plugins: Components
    extras: dict[str, Any] = field(default_factory=dict)
    resumed: int = 0

    @property
    def search(self) -> dict[str, Any]:
        """The ``search`` section of the config (epochs, batch size, learning rates, ...)."""
        return self.config["search"]


"""The context one run carries through the loop, the selectors and the lifecycle hooks."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from harness.data import SearchData
    from harness.datasets import DatasetInfo
    from harness.methods import Method
    from harness.plugins import Plugins
    from harness.spaces import SearchSpace


@dataclass
class RunContext:
    """One run: method × space × dataset × seed, with its resolved config and folder."""

    config: dict[str, Any]
    method: "Method"
    space: "SearchSpace"
    dataset: "DatasetInfo"
    data: "SearchData"
    device: torch.device
    seed: int
    out_dir: Path
    plugins: "Plugins"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def search(self) -> dict[str, Any]:
        """The ``search`` section of the config (epochs, batch size, learning rates, ...)."""
        return self.config["search"]

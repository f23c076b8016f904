"""The dataset contract: a dataset plugin returns its train and test images as tensors."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DatasetInfo:
    """What a network builder and the batch pipeline need to know about a dataset."""

    name: str
    num_classes: int
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool = False
    """Random crop and horizontal flip on training batches, as for CIFAR."""
    crop_padding: int = 4
    """Zero padding before the random crop (NB201 uses 4 for 32 px, 2 for ImageNet16)."""


@dataclass
class ImageSet:
    """Images ``N×C×H×W`` (uint8 0–255, or float already in [0, 1]) and int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device | str) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device))

    def subset(self, index: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index])


class Dataset(ABC):
    """A named dataset; ``load`` reads it from a local folder (or generates it)."""

    info: DatasetInfo
    needs_data_dir: bool = True
    download_hint: str = ""
    """One sentence naming what to download and how the folder must look."""
    profile: ClassVar[Mapping[str, Any]] = {}
    """A partial config applied on this dataset, under the method's defaults: e.g. a tiny
    dataset asks for a small supernet and one CPU thread."""
    max_epochs: ClassVar[int | None] = None
    """A cap on the method's default epochs here (a method's 50 are meant for CIFAR); the
    user's ``--epochs`` still wins."""

    @abstractmethod
    def load(self, data_dir: Path | None) -> tuple[ImageSet, ImageSet]:
        """(train, test) on the CPU; raise ``UserError`` for a missing or malformed folder."""

"""A cheaper view of any image dataset: box-downsampled and/or cut to a fixed training subset.

CPU protocols on real data (e.g. ``benchmarks/fidelity-cifar10-cpu.toml``: CIFAR-10 at
8×8, 25,600 training images) keep the number of architecture steps of the paper setting
while making each step cheap; ``dataset.image_size`` and ``dataset.train_size`` are unset
by default, so runs that leave them alone keep their config hash.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from harness.api.datasets import Dataset, ImageSet
from harness.api.errors import UserError

REDUCE_KEYS = ("image_size", "train_size")
"""Optional ``dataset`` config keys that make any image dataset cheaper (CPU protocols)."""


class ReducedDataset(Dataset):
    """Another dataset, downsampled and/or cut to a fixed training subset.

    ``image_size`` (``--set dataset.image_size=16``) box-filters train and test images
    (area interpolation, as ImageNet16 was made) to that side, and scales the crop
    padding with it (4 px at 32 → 2 at 16 → 1 at 8). ``train_size`` keeps that many
    training images, the same ones for every seed (a fixed, class-stratified draw), before
    the per-seed 50/50 search split. Unset keys leave the dataset, and the run's config
    hash, as they were.
    """

    def __init__(self, source: Dataset, image_size: int | None, train_size: int | None) -> None:
        self.source = source
        self.image_size = image_size
        self.train_size = train_size
        self.needs_data_dir = source.needs_data_dir
        self.download_hint = source.download_hint
        info = source.info
        if image_size is not None:
            padding = max(1, round(info.crop_padding * image_size / info.image_size))
            info = replace(info, image_size=image_size, crop_padding=padding)
        self.info = info

    @classmethod
    def wrap(cls, source: Dataset, options: dict[str, Any]) -> Dataset:
        """``source`` itself when neither key is set, else the reduced view."""
        values = {}
        for key in REDUCE_KEYS:
            value = options.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UserError(f"dataset.{key} must be a positive integer, got {value!r}")
            values[key] = value
        size = values["image_size"]
        if size is not None and (size > source.info.image_size or source.info.image_size % size):
            raise UserError(f"dataset.image_size must divide {source.info.name}'s {source.info.image_size} px, "
                            f"got {size}")
        if size is None and values["train_size"] is None:
            return source
        return cls(source, size, values["train_size"])

    def load(self, data_dir: Path | None) -> tuple[ImageSet, ImageSet]:
        train, test = self.source.load(data_dir)
        if self.train_size is not None:
            train = train.subset(stratified_subset(train.labels, self.train_size))
        if self.image_size is not None:
            train, test = self._downsample(train), self._downsample(test)
        return train, test

    def _downsample(self, data: ImageSet) -> ImageSet:
        side = self.image_size
        if side is None or data.images.shape[-1] == side:
            return data
        parts = []
        for start in range(0, len(data), 4096):
            x = data.images[start:start + 4096].float()
            parts.append(F.interpolate(x, size=(side, side), mode="area"))
        x = torch.cat(parts) if parts else data.images.float()
        if data.images.dtype == torch.uint8:
            x = x.round().clamp(0, 255).to(torch.uint8)
        return ImageSet(x, data.labels)


def stratified_subset(labels: torch.Tensor, size: int) -> torch.Tensor:
    """Indices of ``size`` examples, classes as balanced as the data allows, drawn with seed 0."""
    if size >= len(labels):
        return torch.arange(len(labels))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    shuffled = labels[order]
    # rank of each example within its class in the shuffled order; taking the lowest ranks
    # round-robins over the classes
    rank = torch.empty_like(order)
    for label in torch.unique(shuffled):
        where = (shuffled == label).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    chosen = order[torch.argsort(rank * len(labels) + torch.arange(len(labels)), stable=True)[:size]]
    return chosen.sort().values

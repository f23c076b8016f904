"""Synthetic images for tests: one smooth random pattern per class plus pixel noise.

Deterministic for a given seed, so tests that train on it are reproducible, and
learnable (classes differ in colour and layout), so a working search improves on chance.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from harness import Dataset, DatasetInfo, ImageSet
from plugins.datasets.profiles import SMALL_MAX_EPOCHS, SMALL_PROFILE


def make_synthetic(num_classes: int, channels: int, image_size: int, train_size: int, test_size: int,
                   noise: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """(train, test) drawn from the same class patterns with independent noise; balanced labels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = max(2, image_size // 4)
    patterns = F.interpolate(torch.rand(num_classes, channels, coarse, coarse, generator=generator),
                             size=(image_size, image_size), mode="bilinear", align_corners=False)

    def draw(count: int) -> ImageSet:
        labels = (torch.arange(count) % num_classes)[torch.randperm(count, generator=generator)]
        pixel_noise = noise * torch.randn(count, channels, image_size, image_size, generator=generator)
        return ImageSet((patterns[labels] + pixel_noise).clamp(0.0, 1.0), labels)

    return draw(train_size), draw(test_size)


class SyntheticDataset(Dataset):
    """Float images in [0, 1]; mean and std are measured on the train part."""

    needs_data_dir = False
    download_hint = "Nothing to download: the synthetic data is generated."
    profile = SMALL_PROFILE
    max_epochs = SMALL_MAX_EPOCHS

    def __init__(self, num_classes: int = 10, channels: int = 3, image_size: int = 8, train_size: int = 1000,
                 test_size: int = 200, noise: float = 0.15, seed: int = 0) -> None:
        self._data = make_synthetic(num_classes, channels, image_size, train_size, test_size, noise, seed)
        train = self._data[0].images
        self.info = DatasetInfo("synthetic", num_classes, channels, image_size,
                                tuple(train.mean(dim=(0, 2, 3)).tolist()), tuple(train.std(dim=(0, 2, 3)).tolist()),
                                augment=False)

    def load(self, data_dir: Path | None = None) -> tuple[ImageSet, ImageSet]:
        train, test = self._data
        return ImageSet(train.images.clone(), train.labels.clone()), ImageSet(test.images.clone(), test.labels.clone())

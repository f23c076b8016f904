"""scikit-learn's 8×8 handwritten digits: real data that needs no download (the default)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from harness import Dataset, DatasetInfo, ImageSet
from plugins.datasets.profiles import SMALL_MAX_EPOCHS, SMALL_PROFILE

MAX_VALUE = 16.0
"""The digits are 0..16 gray levels."""


@lru_cache(maxsize=4)
def digits_split(test_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """A stratified train/test split, identical for the same fraction and seed."""
    bunch = load_digits()
    images = (bunch.images / MAX_VALUE).astype(np.float32)[:, None]
    labels = bunch.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(images, labels, test_size=test_fraction,
                                                        random_state=seed, stratify=labels)
    return (ImageSet(torch.from_numpy(train_x), torch.from_numpy(train_y)),
            ImageSet(torch.from_numpy(test_x), torch.from_numpy(test_y)))


class DigitsDataset(Dataset):
    """1797 digits, 10 classes, 1×8×8 floats in [0, 1]; about 5/6 train, 1/6 test."""

    needs_data_dir = False
    download_hint = "Nothing to download: the digits ship with scikit-learn."
    profile = SMALL_PROFILE
    max_epochs = SMALL_MAX_EPOCHS

    def __init__(self, test_fraction: float = 1 / 6, seed: int = 0) -> None:
        self.test_fraction = test_fraction
        self.seed = seed
        train, _ = digits_split(test_fraction, seed)
        self.info = DatasetInfo("digits", 10, 1, 8, (train.images.mean().item(),), (train.images.std().item(),),
                                augment=False)

    def load(self, data_dir: Path | None = None) -> tuple[ImageSet, ImageSet]:
        train, test = digits_split(self.test_fraction, self.seed)
        return ImageSet(train.images.clone(), train.labels.clone()), ImageSet(test.images.clone(), test.labels.clone())

"""CIFAR-10 and CIFAR-100 from the official python batches or a JPEG class-folder tree."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from harness import Dataset, DatasetInfo, ImageSet, UserError
from plugins.datasets.folders import existing_folder, find_file_folder
from plugins.datasets.jpeg_folder import has_class_folders, load_class_folders
from plugins.datasets.pickles import batch_arrays, load_verified_pickle

IMAGE_SIZE = 32
PIXELS = 3 * IMAGE_SIZE * IMAGE_SIZE


@dataclass(frozen=True)
class CifarVariant:
    """What differs between CIFAR-10 and CIFAR-100: files, checksums, label key, statistics."""

    name: str
    title: str
    num_classes: int
    batch_folder: str
    archive_url: str
    train_files: tuple[tuple[str, str], ...]
    """(file name, official md5), as torchvision's ``cifar.py`` lists them."""
    test_files: tuple[tuple[str, str], ...]
    label_key: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


CIFAR10 = CifarVariant(
    name="cifar10",
    title="CIFAR-10",
    num_classes=10,
    batch_folder="cifar-10-batches-py",
    archive_url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    train_files=(
        ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
        ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
        ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
        ("data_batch_4", "634d18415352ddfa80567beed471001a"),
        ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    ),
    test_files=(("test_batch", "40351d587109b95175f43aff81a1287e"),),
    label_key="labels",
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
)

CIFAR100 = CifarVariant(
    name="cifar100",
    title="CIFAR-100",
    num_classes=100,
    batch_folder="cifar-100-python",
    archive_url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    train_files=(("train", "16019d7e3df5f24257cddd939b257f8d"),),
    test_files=(("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),),
    label_key="fine_labels",
    mean=(0.5071, 0.4865, 0.4409),
    std=(0.2673, 0.2564, 0.2762),
)


class CifarDataset(Dataset):
    """CIFAR in either layout; the python batches win when both are present (exact pixels)."""

    needs_data_dir = True

    def __init__(self, variant: CifarVariant) -> None:
        self.variant = variant
        self.info = DatasetInfo(variant.name, variant.num_classes, 3, IMAGE_SIZE, variant.mean, variant.std,
                                augment=True)
        self.download_hint = (f"Download {variant.archive_url} and extract it into the data folder "
                              f"(giving {variant.batch_folder}/), or provide train/<class>/*.jpg and "
                              "test/<class>/*.jpg.")

    def load(self, data_dir: Path | None) -> tuple[ImageSet, ImageSet]:
        variant = self.variant
        root = existing_folder(data_dir, variant.title, self.download_hint)
        names = [name for name, _ in variant.train_files + variant.test_files]
        folder = find_file_folder(root, variant.batch_folder, names, variant.title, self.download_hint)
        if folder is not None:
            return self._read_batches(folder, variant.train_files), self._read_batches(folder, variant.test_files)
        if has_class_folders(root):
            train, test, _ = load_class_folders(root, variant.title, variant.num_classes, IMAGE_SIZE, 3,
                                                self.download_hint)
            return train, test
        raise UserError(f"no {variant.title} found in {root}: expected {variant.batch_folder}/ (python version "
                        f"from the CIFAR website) or train/<class>/*.jpg and test/<class>/*.jpg. "
                        f"{self.download_hint}")

    def _read_batches(self, folder: Path, files: tuple[tuple[str, str], ...]) -> ImageSet:
        """Concatenate the batches; rows are channel-planar 32×32, so they reshape to N×3×32×32."""
        images, labels = [], []
        for name, md5 in files:
            path = folder / name
            entry = load_verified_pickle(path, md5, self.download_hint)
            data, targets = batch_arrays(entry, path, self.variant.label_key, PIXELS, self.download_hint)
            if targets.size and (targets.min() < 0 or targets.max() >= self.variant.num_classes):
                raise UserError(f"{path} has labels outside 0..{self.variant.num_classes - 1}; is it "
                                f"{self.variant.title}? {self.download_hint}")
            images.append(data)
            labels.append(targets)
        stacked = np.concatenate(images).reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE)
        return ImageSet(torch.from_numpy(stacked), torch.from_numpy(np.concatenate(labels)))


def cifar10() -> CifarDataset:
    return CifarDataset(CIFAR10)


def cifar100() -> CifarDataset:
    return CifarDataset(CIFAR100)

"""ImageNet16-120: the 16×16 downsampled ImageNet (Chrabaszcz et al. 2017) restricted to
its first 120 classes, as NAS-Bench-201 uses it (train batches → train, ``val_data`` → test)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness import Dataset, DatasetInfo, ImageSet, UserError
from plugins.datasets.folders import existing_folder, find_file_folder
from plugins.datasets.pickles import batch_arrays, load_verified_pickle

IMAGE_SIZE = 16
PIXELS = 3 * IMAGE_SIZE * IMAGE_SIZE
FOLDER = "ImageNet16"

TRAIN_FILES = (
    ("train_data_batch_1", "27846dcaa50de8e21a7d1a35f30f0e91"),
    ("train_data_batch_2", "c7254a054e0e795c69120a5727050e3f"),
    ("train_data_batch_3", "4333d3df2e5ffb114b05d2ffc19b1e87"),
    ("train_data_batch_4", "1620cdf193304f4a92677b695d70d10f"),
    ("train_data_batch_5", "348b3c2fdbb3940c4e9e834affd3b18d"),
    ("train_data_batch_6", "6e765307c242a1b3d7d5ef9139b48945"),
    ("train_data_batch_7", "564926d8cbf8fc4818ba23d2faac7564"),
    ("train_data_batch_8", "f4755871f718ccb653440b9dd0ebac66"),
    ("train_data_batch_9", "bb6dd660c38c58552125b1a92f86b5d4"),
    ("train_data_batch_10", "8f03f34ac4b42271a294f91bf480f29b"),
)
"""Official md5s, as listed in AutoDL-Projects' ``lib/datasets/DownsampledImageNet.py``."""
VALID_FILES = (("val_data", "3410e3017fdaefba8d5073aaa65e4bd6"),)

MEAN = tuple(x / 255 for x in (122.68, 116.66, 104.01))
STD = tuple(x / 255 for x in (63.22, 61.26, 65.09))

DOWNLOAD_HINT = ("Download the 16×16 downsampled ImageNet (Imagenet16_train.zip and Imagenet16_val.zip from "
                 "https://image-net.org/download-images, or NAS-Bench-201's ImageNet16 folder) and extract it "
                 "so that the data folder (or its ImageNet16/ sub-folder) holds train_data_batch_1..10 and val_data.")


class ImageNet16Dataset(Dataset):
    """Keeps the examples whose 1-based label is ≤ ``num_classes`` and makes the labels 0-based."""

    needs_data_dir = True
    download_hint = DOWNLOAD_HINT

    def __init__(self, num_classes: int = 120) -> None:
        self.num_classes = num_classes
        self.title = f"ImageNet16-{num_classes}"
        self.info = DatasetInfo(f"imagenet16-{num_classes}", num_classes, 3, IMAGE_SIZE, MEAN, STD, augment=True,
                                crop_padding=2)

    def load(self, data_dir: Path | None) -> tuple[ImageSet, ImageSet]:
        root = existing_folder(data_dir, self.title, DOWNLOAD_HINT)
        names = [name for name, _ in TRAIN_FILES + VALID_FILES]
        folder = find_file_folder(root, FOLDER, names, self.title, DOWNLOAD_HINT)
        if folder is None:
            raise UserError(f"no ImageNet16 found in {root}: expected train_data_batch_1..10 and val_data "
                            f"there or in {FOLDER}/. {DOWNLOAD_HINT}")
        return self._read(folder, TRAIN_FILES), self._read(folder, VALID_FILES)

    def _read(self, folder: Path, files: tuple[tuple[str, str], ...]) -> ImageSet:
        """Filter each batch as it is read, so the 1.28M-image train set is never held whole."""
        images, labels = [], []
        for name, md5 in files:
            path = folder / name
            entry = load_verified_pickle(path, md5, DOWNLOAD_HINT)
            data, targets = batch_arrays(entry, path, "labels", PIXELS, DOWNLOAD_HINT)
            if targets.size and targets.min() < 1:
                raise UserError(f"{path} has labels below 1; the official ImageNet16 labels are 1-based "
                                f"(1..1000). {DOWNLOAD_HINT}")
            keep = targets <= self.num_classes
            images.append(data[keep])
            labels.append(targets[keep] - 1)
        stacked = np.concatenate(images).reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE)
        return ImageSet(torch.from_numpy(stacked), torch.from_numpy(np.concatenate(labels)))

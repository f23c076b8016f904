"""The class-folder image layout: ``train/<class>/*.jpg`` and ``test/<class>/*.jpg``.

Classes are numbered in sorted folder-name order (for CIFAR-10 and CIFAR-100 that is the
official label order). Images are decoded once with Pillow, in worker processes (the
decoder holds the GIL, so threads do not help), and cached as uint8 arrays.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from harness import ImageSet, UserError
from plugins.datasets.cache import cached_arrays

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test")
CHUNK = 1000
PARALLEL_FROM = 4 * CHUNK
"""Fewer images than this decode faster in-process than after starting workers."""
MAX_WORKERS = 8


@dataclass(frozen=True)
class SplitListing:
    """The image files of one split, in class order then file-name order."""

    classes: tuple[str, ...]
    files: tuple[str, ...]
    labels: np.ndarray
    newest_mtime_ns: int
    total_bytes: int


def has_class_folders(root: Path) -> bool:
    return all((root / split).is_dir() for split in SPLITS)


def list_split(folder: Path, title: str, hint: str) -> SplitListing:
    """Every image under ``folder/<class>/``; an empty class folder is an error."""
    classes = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    if not classes:
        raise UserError(f"{folder} has no class folders; expected {folder}/<class>/*.jpg for {title}. {hint}")
    files: list[str] = []
    labels: list[int] = []
    newest, total = 0, 0
    for label, name in enumerate(classes):
        entries = sorted((entry for entry in os.scandir(folder / name)
                          if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)),
                         key=lambda entry: entry.name)
        if not entries:
            raise UserError(f"class folder {folder / name} holds no images ({', '.join(IMAGE_SUFFIXES)}). {hint}")
        for entry in entries:
            stat = entry.stat()
            newest, total = max(newest, stat.st_mtime_ns), total + stat.st_size
            files.append(os.path.abspath(entry.path))
        labels.extend([label] * len(entries))
    return SplitListing(tuple(classes), tuple(files), np.asarray(labels, dtype=np.int64), newest, total)


def decode_images(paths: list[str], image_size: int, channels: int) -> np.ndarray:
    """Decode ``paths`` into uint8 ``N×C×H×W``; a wrong size or unreadable file raises ValueError."""
    mode = "RGB" if channels == 3 else "L"
    out = np.empty((len(paths), image_size, image_size, channels), dtype=np.uint8)
    for index, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert(mode))
        except OSError as exc:
            raise ValueError(f"cannot decode {path} ({exc})") from exc
        if pixels.shape[:2] != (image_size, image_size):
            raise ValueError(f"{path} is {pixels.shape[1]}×{pixels.shape[0]}, expected {image_size}×{image_size}")
        out[index] = pixels.reshape(image_size, image_size, channels)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _leave_interrupts_to_parent() -> None:
    """A decoding process ignores Ctrl-C, which the terminal sends it too: the parent stops the pool.
    Interrupted itself, it would send its ``KeyboardInterrupt`` back into a pipe nobody reads any
    more, and the command would hang at exit waiting for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def decode_all(paths: tuple[str, ...], image_size: int, channels: int, description: str) -> np.ndarray:
    """``decode_images`` over all ``paths``, split across processes when there are many."""
    chunks = [list(paths[start:start + CHUNK]) for start in range(0, len(paths), CHUNK)]
    workers = min(os.cpu_count() or 1, MAX_WORKERS, len(chunks))
    progress = tqdm(total=len(paths), desc=description, unit="img", leave=False, disable=None)
    parts: list[np.ndarray] = []
    with progress:
        if workers > 1 and len(paths) >= PARALLEL_FROM:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_leave_interrupts_to_parent) as pool:
                for part in pool.map(decode_images, chunks, [image_size] * len(chunks), [channels] * len(chunks)):
                    parts.append(part)
                    progress.update(len(part))
        else:
            for chunk in chunks:
                parts.append(decode_images(chunk, image_size, channels))
                progress.update(len(chunk))
    return np.concatenate(parts)


def load_class_folders(root: Path, title: str, num_classes: int, image_size: int, channels: int,
                       hint: str) -> tuple[ImageSet, ImageSet, tuple[str, ...]]:
    """(train, test, class names) from ``root/train/<class>/`` and ``root/test/<class>/``, cached."""
    listings = {split: list_split(root / split, title, hint) for split in SPLITS}
    classes = listings["train"].classes
    if listings["test"].classes != classes:
        only_train = sorted(set(classes) - set(listings["test"].classes))
        only_test = sorted(set(listings["test"].classes) - set(classes))
        raise UserError(f"train/ and test/ in {root} have different class folders (only in train: {only_train}, "
                        f"only in test: {only_test}). {hint}")
    if len(classes) != num_classes:
        raise UserError(f"{root}/train has {len(classes)} class folders, {title} has {num_classes}. {hint}")
    key = json.dumps({
        "root": os.path.abspath(root), "size": image_size, "channels": channels,
        **{split: [len(item.files), item.newest_mtime_ns, item.total_bytes] for split, item in listings.items()},
    })

    def build() -> dict[str, np.ndarray]:
        arrays = {}
        for split, listing in listings.items():
            try:
                arrays[f"{split}_images"] = decode_all(listing.files, image_size, channels,
                                                       f"decoding {title} {split} images (cached afterwards)")
            except ValueError as exc:
                raise UserError(f"{title}: {exc}. {hint}") from exc
            arrays[f"{split}_labels"] = listing.labels
        return arrays

    names = tuple(f"{split}_{part}" for split in SPLITS for part in ("images", "labels"))
    arrays = cached_arrays("class-folders", key, names, build)
    train, test = (ImageSet(torch.from_numpy(arrays[f"{split}_images"]), torch.from_numpy(arrays[f"{split}_labels"]))
                   for split in SPLITS)
    return train, test, classes

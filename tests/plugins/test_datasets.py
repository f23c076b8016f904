"""The datasets plugin: digits, synthetic data, CIFAR (python batches and JPEG folders), ImageNet16-120."""
from __future__ import annotations

import dataclasses
import pickle
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from paths import SHARED_DATA
from PIL import Image
from sklearn.datasets import load_digits

import plugins.datasets
from harness import Dataset, UserError
from harness.plugin.manager import load_plugins
from plugins.datasets import jpeg_folder
from plugins.datasets.cache import cache_root
from plugins.datasets.cifar import CIFAR10, CIFAR100, CifarDataset
from plugins.datasets.digits import DigitsDataset
from plugins.datasets.imagenet16 import TRAIN_FILES, VALID_FILES, ImageNet16Dataset
from plugins.datasets.pickles import TRUST_ENV, md5_of
from plugins.datasets.synthetic import SyntheticDataset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SHARED_ARCHIVE = SHARED_DATA / "cifar10-jpeg" / "cifar10-jpeg.tar.gz"


@pytest.fixture
def trusted(monkeypatch):
    monkeypatch.setenv(TRUST_ENV, "1")


@pytest.fixture
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = excinfo.value.message
    assert "\n" not in message
    return message


# --- registration -----------------------------------------------------------------------

def test_all_datasets_are_registered_under_their_info_name():
    registry = load_plugins(extra=[plugins.datasets])["dataset"]
    assert {"digits", "cifar10", "cifar100", "imagenet16-120", "synthetic"} <= set(registry.names())
    for name in ("digits", "cifar10", "cifar100", "imagenet16-120", "synthetic"):
        dataset = registry.create(name)
        assert isinstance(dataset, Dataset)
        assert dataset.info.name == name
        assert dataset.download_hint
    assert registry.create("cifar10").info.num_classes == 10
    assert registry.create("cifar100").info.num_classes == 100
    assert registry.create("imagenet16-120").info.image_size == 16


# --- digits -------------------------------------------------------------------------------

def test_digits_split_is_stratified_deterministic_and_complete():
    dataset = DigitsDataset()
    train, test = dataset.load(None)
    assert train.images.shape == (1497, 1, 8, 8) and test.images.shape == (300, 1, 8, 8)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert 0.0 <= float(train.images.min()) and float(train.images.max()) == 1.0
    full = np.bincount(load_digits().target)
    train_counts, test_counts = np.bincount(train.labels.numpy()), np.bincount(test.labels.numpy())
    assert np.array_equal(train_counts + test_counts, full)
    assert np.all(np.abs(test_counts - full / 6) <= 1)
    # pixel sums are a fingerprint of every image: the two parts together are the whole set
    all_sums = np.sort(load_digits().images.reshape(-1, 64).sum(1))
    split_sums = np.sort(np.concatenate([train.images.flatten(1).sum(1).numpy(),
                                         test.images.flatten(1).sum(1).numpy()]) * 16)
    assert np.allclose(all_sums, split_sums, atol=1e-3)
    again_train, again_test = DigitsDataset().load(None)
    assert torch.equal(again_train.images, train.images) and torch.equal(again_test.labels, test.labels)
    other_train, _ = DigitsDataset(seed=1).load(None)
    assert not torch.equal(other_train.labels, train.labels)


def test_digits_normalization_comes_from_the_train_part():
    dataset = DigitsDataset()
    train, _ = dataset.load(None)
    assert dataset.info.channels == 1 and dataset.info.image_size == 8 and not dataset.info.augment
    assert not dataset.needs_data_dir
    assert dataset.info.mean[0] == pytest.approx(float(train.images.mean()), abs=1e-6)
    assert dataset.info.std[0] == pytest.approx(float(train.images.std()), abs=1e-6)


# --- synthetic ----------------------------------------------------------------------------

def test_synthetic_is_deterministic_balanced_and_separable():
    train, test = SyntheticDataset().load(None)
    assert train.images.shape == (1000, 3, 8, 8) and test.images.shape == (200, 3, 8, 8)
    assert 0.0 <= float(train.images.min()) and float(train.images.max()) <= 1.0
    assert torch.equal(torch.bincount(train.labels), torch.full((10,), 100))
    again_train, again_test = SyntheticDataset().load(None)
    assert torch.equal(train.images, again_train.images) and torch.equal(test.labels, again_test.labels)
    assert not torch.equal(SyntheticDataset(seed=1).load(None)[0].images, train.images)
    # the classes carry signal: nearest class mean (from train) classifies the test part
    means = torch.stack([train.images[train.labels == k].mean(0) for k in range(10)])
    distances = ((test.images[:, None] - means[None]) ** 2).flatten(2).sum(2)
    assert (distances.argmin(1) == test.labels).float().mean() > 0.9


# --- JPEG class folders -------------------------------------------------------------------

def colour(label: int, index: int) -> tuple[int, int, int]:
    return (20 * label + 5 * index, 100 + 10 * index, 200 - 15 * label)


def write_class_folders(root: Path, classes: list[str], per_split: dict[str, int], size: int = 32) -> None:
    """Uniform-colour JPEGs (JPEG keeps a flat colour within ±2), one known colour per image."""
    for split, count in per_split.items():
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                Image.new("RGB", (size, size), colour(label, index)).save(folder / f"{index:04d}.jpg", quality=95)


def expected_colours(classes: list[str], count: int) -> torch.Tensor:
    return torch.tensor([colour(label, index) for label in range(len(classes)) for index in range(count)])


def test_jpeg_folders_load_cifar10_with_known_pixels(tmp_path):
    write_class_folders(tmp_path, CIFAR10_CLASSES, {"train": 3, "test": 2})
    train, test = CifarDataset(CIFAR10).load(tmp_path)
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (20, 3, 32, 32)
    assert torch.equal(train.labels, torch.arange(10).repeat_interleave(3))
    assert torch.equal(test.labels, torch.arange(10).repeat_interleave(2))
    measured = train.images.float().mean(dim=(2, 3))
    assert torch.allclose(measured, expected_colours(CIFAR10_CLASSES, 3).float(), atol=2.5)
    assert sorted(CIFAR10_CLASSES) == CIFAR10_CLASSES  # so sorted folder order is the official label order


def test_class_labels_follow_sorted_folder_names_not_creation_order(tmp_path):
    created = ["zebra", "apple", "mango"]
    for label, name in enumerate(created):
        for split in ("train", "test"):
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8), (40 * label, 0, 0)).save(tmp_path / split / name / "0.jpg", quality=95)
    train, _, classes = jpeg_folder.load_class_folders(tmp_path, "fruit", 3, 8, 3, "")
    assert classes == ("apple", "mango", "zebra")
    red = train.images[:, 0].float().mean(dim=(1, 2))
    assert torch.allclose(red, torch.tensor([40.0, 80.0, 0.0]), atol=2.5)
    assert train.labels.tolist() == [0, 1, 2]


def test_second_jpeg_load_comes_from_the_cache(tmp_path, monkeypatch):
    write_class_folders(tmp_path, CIFAR10_CLASSES, {"train": 2, "test": 1})
    first_train, first_test = CifarDataset(CIFAR10).load(tmp_path)
    assert len(list((cache_root() / "datasets").glob("*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the folder did not change")

    monkeypatch.setattr(jpeg_folder, "decode_images", no_decoding)
    second_train, second_test = CifarDataset(CIFAR10).load(tmp_path)
    assert torch.equal(first_train.images, second_train.images)
    assert torch.equal(first_test.labels, second_test.labels)


def test_changed_folder_or_damaged_cache_is_decoded_again(tmp_path):
    write_class_folders(tmp_path, CIFAR10_CLASSES, {"train": 2, "test": 1})
    dataset = CifarDataset(CIFAR10)
    assert len(dataset.load(tmp_path)[0]) == 20
    Image.new("RGB", (32, 32), (1, 2, 3)).save(tmp_path / "train" / "cat" / "extra.jpg")
    train, _ = dataset.load(tmp_path)
    assert len(train) == 21 and int((train.labels == 3).sum()) == 3
    for cached in (cache_root() / "datasets").glob("*.npz"):
        cached.write_bytes(b"not an npz")
    assert len(dataset.load(tmp_path)[0]) == 21


def test_parallel_decoding_matches_serial_decoding(tmp_path, monkeypatch):
    write_class_folders(tmp_path, ["a", "b"], {"train": 6})
    listing = jpeg_folder.list_split(tmp_path / "train", "test data", "")
    serial = jpeg_folder.decode_images(list(listing.files), 32, 3)
    monkeypatch.setattr(jpeg_folder, "CHUNK", 4)
    monkeypatch.setattr(jpeg_folder, "PARALLEL_FROM", 8)
    monkeypatch.setattr(jpeg_folder.os, "cpu_count", lambda: 2)
    assert np.array_equal(jpeg_folder.decode_all(listing.files, 32, 3, "decoding"), serial)


def test_jpeg_folder_problems_are_one_line_errors(tmp_path):
    write_class_folders(tmp_path / "few", CIFAR10_CLASSES[:3], {"train": 1, "test": 1})
    with pytest.raises(UserError, match="has 3 class folders, CIFAR-10 has 10"):
        CifarDataset(CIFAR10).load(tmp_path / "few")

    write_class_folders(tmp_path / "mismatch", CIFAR10_CLASSES, {"train": 1})
    write_class_folders(tmp_path / "mismatch", CIFAR10_CLASSES[:9] + ["lorry"], {"test": 1})
    with pytest.raises(UserError, match="different class folders") as excinfo:
        CifarDataset(CIFAR10).load(tmp_path / "mismatch")
    assert "lorry" in one_line_error(excinfo)

    write_class_folders(tmp_path / "big", CIFAR10_CLASSES, {"train": 1, "test": 1}, size=40)
    with pytest.raises(UserError, match="is 40×40, expected 32×32"):
        CifarDataset(CIFAR10).load(tmp_path / "big")

    write_class_folders(tmp_path / "broken", CIFAR10_CLASSES, {"train": 1, "test": 1})
    (tmp_path / "broken" / "test" / "dog" / "0000.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match="cannot decode .*dog.0000.jpg"):
        CifarDataset(CIFAR10).load(tmp_path / "broken")

    write_class_folders(tmp_path / "empty", CIFAR10_CLASSES, {"train": 1, "test": 1})
    (tmp_path / "empty" / "train" / "frog" / "0000.jpg").unlink()
    with pytest.raises(UserError, match="frog holds no images"):
        CifarDataset(CIFAR10).load(tmp_path / "empty")


@pytest.mark.slow
def test_shared_cifar10_jpeg_archive(tmp_path):
    """The real archive: ~25 s to extract and decode it the first time (2 idle cores), ~1 s from the cache.

    Deselected by default; run with ``pytest -m slow``.
    """
    if not SHARED_ARCHIVE.exists():
        pytest.skip(f"shared archive not found at {SHARED_ARCHIVE}")
    if shutil.which("tar"):  # much faster than tarfile for 60,000 members
        subprocess.run(["tar", "xzf", str(SHARED_ARCHIVE), "-C", str(tmp_path)], check=True)
    else:
        with tarfile.open(SHARED_ARCHIVE) as archive:
            archive.extractall(tmp_path, filter="data")
    dataset = CifarDataset(CIFAR10)
    train, test = dataset.load(tmp_path)
    start = time.perf_counter()
    cached_train, cached_test = dataset.load(tmp_path)
    assert time.perf_counter() - start < 5
    assert torch.equal(cached_train.images, train.images) and torch.equal(cached_test.labels, test.labels)
    assert train.images.shape == (50000, 3, 32, 32) and test.images.shape == (10000, 3, 32, 32)
    assert torch.equal(torch.bincount(train.labels), torch.full((10,), 5000))
    assert torch.equal(torch.bincount(test.labels), torch.full((10,), 1000))
    channel_means = (train.images.float() / 255).mean(dim=(0, 2, 3))
    assert torch.allclose(channel_means, torch.tensor(CIFAR10.mean), atol=1e-3)


# --- CIFAR python batches -------------------------------------------------------------------

def planar_rows(count: int, offset: int) -> np.ndarray:
    """Rows whose red, green and blue planes are 3 different constants, known per row."""
    rows = np.empty((count, 3072), dtype=np.uint8)
    for row in range(count):
        for channel in range(3):
            rows[row, channel * 1024:(channel + 1) * 1024] = (offset + 7 * row + 80 * channel) % 256
    return rows


def write_pickle(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(entry, handle)


def write_cifar10_batches(folder: Path, per_batch: int = 4) -> None:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for number, name in enumerate(names):
        write_pickle(folder / name, {
            "batch_label": name,
            "data": planar_rows(per_batch, 10 * number),
            "labels": [(number + row) % 10 for row in range(per_batch)],
            "filenames": [f"{name}_{row}.png" for row in range(per_batch)],
        })


def test_cifar10_batches_load_channel_planar_when_trusted(tmp_path, trusted):
    write_cifar10_batches(tmp_path / "cifar-10-batches-py")
    for data_dir in (tmp_path, tmp_path / "cifar-10-batches-py"):
        train, test = CifarDataset(CIFAR10).load(data_dir)
        assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
        assert test.images.shape == (4, 3, 32, 32)
        assert train.labels.dtype == torch.int64
        assert train.labels.tolist() == [(number + row) % 10 for number in range(5) for row in range(4)]
        # batch 2 (offset 10), row 3, green plane: 10 + 21 + 80
        assert torch.all(train.images[4 * 1 + 3, 1] == 111)
        assert torch.all(test.images[2, 2] == (50 + 14 + 160) % 256)


def test_unverified_cifar_pickles_are_refused(tmp_path, untrusted):
    write_cifar10_batches(tmp_path / "cifar-10-batches-py")
    with pytest.raises(UserError, match="does not match the official checksum") as excinfo:
        CifarDataset(CIFAR10).load(tmp_path)
    assert TRUST_ENV in one_line_error(excinfo)


def test_cifar_pickles_with_the_listed_checksums_load_without_trust(tmp_path, untrusted):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10_batches(folder)
    variant = dataclasses.replace(
        CIFAR10,
        train_files=tuple((name, md5_of(folder / name)) for name, _ in CIFAR10.train_files),
        test_files=tuple((name, md5_of(folder / name)) for name, _ in CIFAR10.test_files),
    )
    train, test = CifarDataset(variant).load(tmp_path)
    assert len(train) == 20 and len(test) == 4


def test_cifar100_uses_the_fine_labels(tmp_path, trusted):
    folder = tmp_path / "cifar-100-python"
    for name, count in (("train", 6), ("test", 3)):
        write_pickle(folder / name, {
            b"data": planar_rows(count, 0),  # bytes keys, as from a Python-2 pickle read without latin1
            b"fine_labels": [99 - row for row in range(count)],
            b"coarse_labels": [row % 20 for row in range(count)],
        })
    train, test = CifarDataset(CIFAR100).load(tmp_path)
    assert train.labels.tolist() == [99, 98, 97, 96, 95, 94] and test.labels.tolist() == [99, 98, 97]


def test_malformed_or_incomplete_batches_are_one_line_errors(tmp_path, trusted):
    write_cifar10_batches(tmp_path / "partial" / "cifar-10-batches-py")
    (tmp_path / "partial" / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(UserError, match="incomplete: missing data_batch_3"):
        CifarDataset(CIFAR10).load(tmp_path / "partial")

    write_cifar10_batches(tmp_path / "short")
    write_pickle(tmp_path / "short" / "test_batch", {"data": np.zeros((2, 1024), np.uint8), "labels": [0, 1]})
    with pytest.raises(UserError, match=r"expected uint8 N×3072"):
        CifarDataset(CIFAR10).load(tmp_path / "short")

    write_cifar10_batches(tmp_path / "nolabels")
    write_pickle(tmp_path / "nolabels" / "test_batch", {"data": planar_rows(2, 0)})
    with pytest.raises(UserError, match="lacks the keys 'data' and 'labels'"):
        CifarDataset(CIFAR10).load(tmp_path / "nolabels")

    write_cifar10_batches(tmp_path / "garbage")
    (tmp_path / "garbage" / "data_batch_1").write_bytes(b"\x80\x04garbage")
    with pytest.raises(UserError, match="not a readable pickle") as excinfo:
        CifarDataset(CIFAR10).load(tmp_path / "garbage")
    one_line_error(excinfo)


# --- ImageNet16-120 ---------------------------------------------------------------------------

def write_imagenet16(folder: Path, labels_per_file: list[int]) -> None:
    for number, (name, _) in enumerate(TRAIN_FILES + VALID_FILES):
        data = np.stack([np.full(768, (number * 10 + row) % 256, np.uint8) for row in range(len(labels_per_file))])
        data[:, 256:512] = 200  # the green plane
        write_pickle(folder / name, {"data": data, "labels": list(labels_per_file), "mean": np.zeros(768)})


def test_imagenet16_keeps_the_first_120_classes_zero_based(tmp_path, trusted):
    write_imagenet16(tmp_path / "ImageNet16", [1, 120, 121, 1000, 60])
    for data_dir in (tmp_path, tmp_path / "ImageNet16"):
        train, test = ImageNet16Dataset().load(data_dir)
        assert train.images.shape == (30, 3, 16, 16) and train.images.dtype == torch.uint8
        assert test.images.shape == (3, 3, 16, 16)
        assert train.labels.tolist() == [0, 119, 59] * 10 and test.labels.tolist() == [0, 119, 59]
        # train_data_batch_2 (number 1), kept rows 0, 1, 4 → red plane 10, 11, 14; green plane 200
        assert train.images[3:6, 0, 5, 5].tolist() == [10, 11, 14]
        assert torch.all(train.images[:, 1] == 200)


def test_imagenet16_checks_checksums_and_label_base(tmp_path, monkeypatch):
    write_imagenet16(tmp_path, [1, 2])
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(UserError, match="does not match the official checksum"):
        ImageNet16Dataset().load(tmp_path)
    monkeypatch.setenv(TRUST_ENV, "1")
    write_imagenet16(tmp_path, [0, 1])
    with pytest.raises(UserError, match="labels below 1"):
        ImageNet16Dataset().load(tmp_path)


def test_imagenet16_info_matches_nb201():
    info = ImageNet16Dataset().info
    assert info.num_classes == 120 and info.image_size == 16 and info.augment
    assert info.mean == pytest.approx((122.68 / 255, 116.66 / 255, 104.01 / 255))
    assert info.std == pytest.approx((63.22 / 255, 61.26 / 255, 65.09 / 255))
    assert [name for name, _ in TRAIN_FILES] == [f"train_data_batch_{i}" for i in range(1, 11)]
    assert VALID_FILES[0][0] == "val_data"


# --- missing folders ------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, expected", [
    (CifarDataset(CIFAR10), r"no CIFAR-10 found in .*: expected cifar-10-batches-py/ .* or train/<class>/\*\.jpg "
                            r"and test/<class>/\*\.jpg.*cifar-10-python\.tar\.gz"),
    (CifarDataset(CIFAR100), r"no CIFAR-100 found in .*: expected cifar-100-python/.*cifar-100-python\.tar\.gz"),
    (ImageNet16Dataset(), r"no ImageNet16 found in .*: expected train_data_batch_1\.\.10 and val_data"),
])
def test_missing_datasets_say_what_to_download(tmp_path, dataset, expected):
    with pytest.raises(UserError, match=expected) as excinfo:
        dataset.load(tmp_path)
    one_line_error(excinfo)
    with pytest.raises(UserError, match="does not exist"):
        dataset.load(tmp_path / "nowhere")
    with pytest.raises(UserError, match="needs a data folder"):
        dataset.load(None)


def slow_decode(paths, image_size, channels):
    """A chunk's decoding that takes a while and says whether this process ignores Ctrl-C."""
    import signal
    import time

    time.sleep(0.2)
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    return np.full((len(paths), channels, image_size, image_size), 1 if ignored else 0, dtype=np.uint8)


def test_ctrl_c_during_parallel_decoding_stops_at_once_and_leaves_no_process(monkeypatch):
    """Decoding processes leave Ctrl-C to the parent; the chunks not yet started are dropped (map's results
    closed), the running ones end, and so do the processes."""
    import multiprocessing
    import time

    monkeypatch.setattr(jpeg_folder, "CHUNK", 4)
    monkeypatch.setattr(jpeg_folder, "PARALLEL_FROM", 8)
    monkeypatch.setattr(jpeg_folder.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(jpeg_folder, "decode_images", slow_decode)
    paths = tuple(f"image-{i}.jpg" for i in range(4 * 40))
    assert jpeg_folder.decode_all(paths[:16], 2, 3, "decoding").min() == 1  # Ctrl-C ignored in the pool

    class Interrupted(jpeg_folder.tqdm):
        def update(self, n=1):
            raise KeyboardInterrupt

    monkeypatch.setattr(jpeg_folder, "tqdm", Interrupted)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        jpeg_folder.decode_all(paths, 2, 3, "decoding")
    assert time.monotonic() - start < 2.0  # 40 chunks of 0.2 s on 2 processes would take 4 s
    assert multiprocessing.active_children() == []

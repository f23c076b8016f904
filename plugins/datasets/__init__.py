"""Built-in datasets: digits (embedded default), CIFAR-10/100, ImageNet16-120 and synthetic data."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from harness import hookimpl
from plugins.datasets.cifar import CIFAR10, CIFAR100, CifarDataset
from plugins.datasets.digits import DigitsDataset
from plugins.datasets.imagenet16 import ImageNet16Dataset
from plugins.datasets.synthetic import SyntheticDataset


@hookimpl
def nasbench_register_datasets(register: Callable[..., None]) -> None:
    register("digits", DigitsDataset, "scikit-learn's 1797 8×8 handwritten digits (embedded, no download)")
    register("cifar10", partial(CifarDataset, CIFAR10),
             "CIFAR-10 from cifar-10-batches-py/ or a train/ and test/ JPEG class-folder tree")
    register("cifar100", partial(CifarDataset, CIFAR100),
             "CIFAR-100 from cifar-100-python/ or a train/ and test/ JPEG class-folder tree")
    register("imagenet16-120", ImageNet16Dataset, "16×16 downsampled ImageNet, first 120 classes (as NAS-Bench-201)")
    register("synthetic", SyntheticDataset, "generated class patterns plus noise, 3×8×8 (for tests)")

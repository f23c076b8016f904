"""Built-in datasets: digits (embedded default), CIFAR-10/100, ImageNet16-120 and synthetic data.

Registered as ``"module:factory"`` strings: a dataset's module (torch, scikit-learn) is
imported only when the dataset is used.
"""
from __future__ import annotations

from collections.abc import Callable

from harness import hookimpl


@hookimpl
def nasbench_register_datasets(register: Callable[..., None]) -> None:
    register("digits", "plugins.datasets.digits:DigitsDataset",
             "scikit-learn's 1797 8×8 handwritten digits (embedded, no download)")
    register("cifar10", "plugins.datasets.cifar:cifar10",
             "CIFAR-10 from cifar-10-batches-py/ or a train/ and test/ JPEG class-folder tree")
    register("cifar100", "plugins.datasets.cifar:cifar100",
             "CIFAR-100 from cifar-100-python/ or a train/ and test/ JPEG class-folder tree")
    register("imagenet16-120", "plugins.datasets.imagenet16:ImageNet16Dataset",
             "16×16 downsampled ImageNet, first 120 classes (as NAS-Bench-201)")
    register("synthetic", "plugins.datasets.synthetic:SyntheticDataset",
             "generated class patterns plus noise, 3×8×8 (for tests)")

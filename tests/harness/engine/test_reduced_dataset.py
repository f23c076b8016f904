"""The reduced view of a dataset: downsampling, a fixed stratified subset, scaled crop padding."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from harness import Dataset, ImageSet, UserError
from harness.engine.reduced_dataset import ReducedDataset
from plugins.datasets.cifar import CIFAR10, CifarDataset


def test_reduced_dataset_downsamples_subsets_and_scales_the_crop_padding():
    class Fake(Dataset):
        needs_data_dir = False
        info = dataclasses.replace(CifarDataset(CIFAR10).info)

        def load(self, data_dir):
            labels = torch.arange(100) % 10
            images = (torch.arange(100 * 3 * 32 * 32) % 256).to(torch.uint8).view(100, 3, 32, 32)
            return ImageSet(images, labels), ImageSet(images[:20].clone(), labels[:20].clone())

    source = Fake()
    assert ReducedDataset.wrap(source, {"name": "cifar10"}) is source
    reduced = ReducedDataset.wrap(source, {"image_size": 8, "train_size": 30})
    assert reduced.info.image_size == 8 and reduced.info.crop_padding == 1
    train, test = reduced.load(None)
    assert train.images.shape == (30, 3, 8, 8) and train.images.dtype == torch.uint8
    assert test.images.shape == (20, 3, 8, 8)
    assert torch.bincount(train.labels, minlength=10).tolist() == [3] * 10
    assert torch.equal(reduced.load(None)[0].labels, train.labels)  # the same subset every time
    full, _ = source.load(None)
    expected = full.images[:1].float().view(1, 3, 8, 4, 8, 4).mean(dim=(3, 5)).round().to(torch.uint8)
    assert torch.equal(ReducedDataset.wrap(source, {"image_size": 8}).load(None)[0].images[:1], expected)
    for bad in ({"image_size": 12}, {"image_size": 64}, {"train_size": 0}, {"train_size": True}):
        with pytest.raises(UserError):
            ReducedDataset.wrap(source, bad)

"""Search data on the device: the 50/50 search split and batch streams.

Small datasets (CIFAR, ImageNet16, digits) fit on a GPU as uint8, so batches are cut
from device tensors by a seeded permutation and augmented there, instead of going
through a DataLoader that would copy every batch and be re-created every epoch.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from harness.api.datasets import DatasetInfo, ImageSet


@dataclass
class SearchData:
    """The search-train half, the search-validation half and the test set, on one device."""

    info: DatasetInfo
    train: ImageSet
    valid: ImageSet
    test: ImageSet

    @classmethod
    def split(cls, info: DatasetInfo, train: ImageSet, test: ImageSet, seed: int,
              device: torch.device) -> SearchData:
        """Split ``train`` 50/50 at random (seeded), as DARTS does, and move all to ``device``."""
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(train), generator=generator)
        half = len(train) // 2
        return cls(info, train.subset(order[:half]).to(device), train.subset(order[half:]).to(device),
                   test.to(device))


def to_float(images: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """uint8 or [0, 1] images to normalized float32."""
    x = images.float()
    if images.dtype == torch.uint8:
        x = x / 255.0
    mean, std = _channel_constants(tuple(info.mean), tuple(info.std), x.device)
    return (x - mean) / std


@functools.lru_cache(maxsize=32)
def _channel_constants(mean: tuple[float, ...], std: tuple[float, ...],
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std as ``(1, C, 1, 1)`` tensors on ``device``, made once: a copy from
    the host at every batch would make the host wait for the GPU's queue to drain."""
    return (torch.tensor(mean, device=device).view(1, -1, 1, 1),
            torch.tensor(std, device=device).view(1, -1, 1, 1))


def augment(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, per image, on x's device."""
    b, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator, device=generator.device)
    offsets = offsets.to(x.device)
    rows = (offsets[0].view(b, 1) + torch.arange(h, device=x.device).view(1, h)).view(b, 1, h, 1)
    cols = (offsets[1].view(b, 1) + torch.arange(w, device=x.device).view(1, w)).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    channels = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    cropped = padded[batch, channels, rows, cols]
    flip = (torch.rand(b, generator=generator, device=generator.device) < 0.5).to(x.device).view(b, 1, 1, 1)
    return torch.where(flip, cropped.flip(3), cropped)


class BatchStream:
    """An endless stream of shuffled, normalized (and optionally augmented) batches.

    Reshuffles when a pass over the data is used up; ``state_dict`` lets a resumed run
    continue with exactly the batches it would have seen.
    """

    def __init__(self, data: ImageSet, info: DatasetInfo, batch_size: int, seed: int,
                 augment_batches: bool = False) -> None:
        self.data = data
        self.info = info
        self.batch_size = min(batch_size, len(data))
        self.augment = augment_batches
        self.generator = torch.Generator().manual_seed(seed)
        self.device_generator = (torch.Generator(device=data.images.device).manual_seed(seed)
                                 if data.images.device.type != "cpu" else self.generator)
        self._order = torch.empty(0, dtype=torch.long)
        self._device_order = self._order
        self._position = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._position + self.batch_size > len(self._order):
            self._set_order(torch.randperm(len(self.data), generator=self.generator))
            self._position = 0
        index = self._device_order[self._position:self._position + self.batch_size]
        self._position += self.batch_size
        x = to_float(self.data.images[index], self.info)
        if self.augment:
            x = augment(x, self.device_generator, self.info.crop_padding)
        return x, self.data.labels[index]

    def _set_order(self, order: torch.Tensor) -> None:
        """The pass's order, on the host (checkpoints) and on the data's device, copied once per pass:
        a copy per batch would make the host wait for the device's queued steps."""
        self._order = order
        self._device_order = order.to(self.data.images.device)

    def batches_per_pass(self) -> int:
        return max(1, len(self.data) // self.batch_size)

    def state_dict(self) -> dict:
        state = {"generator": self.generator.get_state(), "order": self._order, "position": self._position}
        if self.device_generator is not self.generator:
            state["device_generator"] = self.device_generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._set_order(state["order"])
        self._position = state["position"]
        if "device_generator" in state and self.device_generator is not self.generator:
            self.device_generator.set_state(state["device_generator"])


def iterate_once(data: ImageSet, info: DatasetInfo, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Every example once, in order, normalized (for evaluation)."""
    for start in range(0, len(data), batch_size):
        yield to_float(data.images[start:start + batch_size], info), data.labels[start:start + batch_size]


def shuffled_pass(data: ImageSet, info: DatasetInfo, batch_size: int, generator: torch.Generator,
                  augment_batches: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Every example once, in a random order, normalized and (if ``augment_batches``) augmented.

    The validation stream as darts-pt's projection measures it: its ``valid_queue`` is the
    training transform over a shuffled sampler, read to the end (the last batch may be short).
    """
    order = torch.randperm(len(data), generator=generator).to(data.images.device)
    for start in range(0, len(data), batch_size):
        index = order[start:start + batch_size]
        x = to_float(data.images[index], info)
        if augment_batches:
            x = augment(x, generator, info.crop_padding)
        yield x, data.labels[index]

"""A real NB201 supernet trainer (C=4, N=1, 8×8 images) on any device, for the GPU-path settings."""
from __future__ import annotations

import torch

from harness import ArchOptimizer, DatasetInfo, ImageSet, RunContext, SearchData, Trainer
from harness.experiment.config import DEFAULTS, merge
from plugins.darts.optimizer import DartsOptimizer
from plugins.nb201.space import NB201Space

INFO = DatasetInfo("tiny", num_classes=3, channels=3, image_size=8, mean=(0.5,) * 3, std=(0.25,) * 3, augment=True)


def nb201_trainer(tmp_path, device: str = "cpu", seed: int = 0, optimizer: ArchOptimizer | None = None,
                  **search) -> Trainer:
    """DARTS (or ``optimizer``) on 32/32 random images, batch 8 (4 steps an epoch), clip 0.5."""
    config = merge(DEFAULTS, {"search": {"epochs": 2, "batch_size": 8, "grad_clip": 0.5, **search}})
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 3, (64,), generator=generator)
    data = SearchData.split(INFO, ImageSet(images, labels), ImageSet(images[:8], labels[:8]), seed, torch.device(device))
    space = NB201Space()
    run = RunContext(config, None, space, INFO, data, torch.device(device), seed, tmp_path, None)
    torch.manual_seed(seed)
    supernet = space.build_supernet(INFO, {"C": 4, "N": 1}).to(device)
    optimizer = optimizer or DartsOptimizer({})
    optimizer.attach(space, supernet, run)
    return Trainer(run, supernet, optimizer)

"""Top-1 accuracy of a stand-alone network: what every retraining benchmark reports."""
from __future__ import annotations

import torch
from torch import nn

from harness.api.datasets import DatasetInfo, ImageSet
from harness.engine.data import iterate_once

EVAL_BATCH_SIZE = 512


@torch.no_grad()
def network_accuracy(network: nn.Module, images: ImageSet, info: DatasetInfo,
                     batch_size: int = EVAL_BATCH_SIZE) -> float:
    """Top-1 accuracy (%) of ``network`` in eval mode (running BatchNorm statistics) on every example."""
    network.eval()
    correct = torch.zeros((), device=images.labels.device)
    for x, y in iterate_once(images, info, batch_size):
        correct += (network(x).argmax(dim=1) == y).sum()
    return 100.0 * correct.item() / max(1, len(images))

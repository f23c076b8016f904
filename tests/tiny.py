"""A tiny linear supernet and run context for testing optimizers and the loop by hand."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from harness import ArchOptimizer, DatasetInfo, ImageSet, RunContext, SearchData, SearchSpace, Supernet
from harness.experiment.config import DEFAULTS, merge

INFO = DatasetInfo("toy", num_classes=2, channels=1, image_size=2, mean=(0.0,), std=(1.0,))


class LinearSupernet(Supernet):
    """Each edge-op is a linear map of the flattened input; the edge outputs add up."""

    def __init__(self, edges: int = 2, ops: int = 3, features: int = 4, classes: int = 2) -> None:
        super().__init__()
        self.ops = nn.ModuleList(nn.ModuleList(nn.Linear(features, features) for _ in range(ops))
                                 for _ in range(edges))
        self.head = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        hidden = sum(weights[..., e, o].reshape(-1, 1) * op(x)
                     for e, edge in enumerate(self.ops) for o, op in enumerate(edge))
        return self.head(torch.tanh(hidden))


class TinySpace(SearchSpace):
    name = "tiny"
    op_names = ("a", "skip_connect", "c")
    edge_names = ("1<-0", "2<-1")

    def build_supernet(self, dataset, options):
        return LinearSupernet(self.num_edges, self.num_ops, dataset.channels * dataset.image_size ** 2,
                              dataset.num_classes)

    def build_network(self, arch, dataset, options):
        raise NotImplementedError

    def parse(self, text):
        return tuple(self.op_names.index(t) for t in text.split(","))

    def format(self, arch):
        return ",".join(self.op_names[i] for i in arch)


def toy_data(n: int = 64, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 1, 2, 2, generator=generator, dtype=torch.float64).float()
    labels = (images.flatten(1).sum(1) > 0).long()
    return ImageSet(images, labels), ImageSet(images[: n // 4], labels[: n // 4])


def tiny_run(tmp_path: Path, search: dict | None = None, seed: int = 0) -> RunContext:
    config = merge(DEFAULTS, {"search": {"epochs": 2, "batch_size": 8, "eval_batch_size": 16, **(search or {})}})
    train, test = toy_data(seed=seed)
    data = SearchData.split(INFO, train, test, seed, torch.device("cpu"))
    return RunContext(config, None, TinySpace(), INFO, data, torch.device("cpu"), seed, tmp_path, None)


class FixedLogits(ArchOptimizer):
    """Architecture logits that never change: a selector's decisions on a supernet with known α."""

    def __init__(self, logits) -> None:
        super().__init__({})
        self.alpha = torch.as_tensor(logits, dtype=torch.float32)

    def attach(self, space, supernet, run):
        pass

    def mixing_weights(self, training):
        return torch.softmax(self.alpha, dim=-1)

    def logits(self):
        return self.alpha

    def step(self, step):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        return None

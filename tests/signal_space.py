"""A search space whose right answer is known: on each edge one op carries the signal and one is noise.

x ∈ R⁴ → edge "1<-0" → h → edge "2<-1" → z → a trainable linear head; the label is [x₀ > 0].
Ops on every edge: ``noise`` (fresh N(0, 1), ignores its input), ``signal`` (the identity)
and ``zero``. Only (signal, signal) lets the label through, so a working search must end there.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness import DatasetInfo, ImageSet, Method, RunContext, SearchData, SearchSpace, SelectionContext, Supernet
from harness.experiment.config import DEFAULTS, merge

NOISE, SIGNAL, ZERO = 0, 1, 2
INFO = DatasetInfo("signal", num_classes=2, channels=4, image_size=1, mean=(0.0,) * 4, std=(1.0,) * 4)


class SignalSupernet(Supernet):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for edge in range(2):
            ops = torch.stack([torch.randn_like(h), h, torch.zeros_like(h)], dim=-1)
            h = (ops * weights[..., edge, :].unsqueeze(-2)).sum(-1)
        return self.head(h)


class SignalSpace(SearchSpace):
    name = "signal"
    op_names = ("noise", "signal", "zero")
    edge_names = ("1<-0", "2<-1")

    def build_supernet(self, dataset, options):
        return SignalSupernet()

    def build_network(self, arch, dataset, options):
        raise NotImplementedError("the test space has no stand-alone network")

    def parse(self, text):
        return tuple(self.op_names.index(name) for name in text.split("|"))

    def format(self, arch):
        return "|".join(self.op_names[op] for op in arch)


def signal_data(n: int, seed: int) -> ImageSet:
    images = torch.randn(n, 4, 1, 1, generator=torch.Generator().manual_seed(seed))
    return ImageSet(images, (images[:, 0, 0, 0] > 0).long())


def signal_run(tmp_path: Path, search: dict | None = None, seed: int = 0) -> RunContext:
    config = merge(DEFAULTS, {"search": {"epochs": 10, "batch_size": 32, "eval_batch_size": 256,
                                         "max_steps_per_epoch": 8, **(search or {})}})
    data = SearchData.split(INFO, signal_data(512, seed), signal_data(128, seed + 1), seed, torch.device("cpu"))
    return RunContext(config, Method("test", "darts", "pt"), SignalSpace(), INFO, data, torch.device("cpu"),
                      seed, tmp_path, None)


def selection_context(run: RunContext, supernet: Supernet, optimizer, trainer) -> SelectionContext:
    return SelectionContext(run, run.space, run.dataset, supernet, optimizer, run.data, trainer,
                            lambda arch: {}, np.random.default_rng(run.seed))

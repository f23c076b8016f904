"""Retraining as a benchmark: train the discrete network from scratch and measure it on the test set.

For spaces or datasets without a table, this is the ground truth a NAS paper reports:
the found architecture, trained alone on the full search data (both search halves),
evaluated on the held-out test split. The recipe follows NAS-Bench-201's: SGD with
Nesterov momentum 0.9, lr 0.1 annealed by a cosine to 0 (per step), weight decay 5e-4,
batch 128, no label smoothing, the dataset's standard augmentation.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from pydantic import Field
from torch import nn
from tqdm import tqdm

from harness import (
    Architecture,
    BatchStream,
    Benchmark,
    BenchmarkContext,
    DatasetInfo,
    DivergedError,
    ImageSet,
    Options,
    SearchSpace,
    SplitData,
    UserError,
    iterate_once,
)

MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
EVAL_BATCH_SIZE = 512


class RetrainOptions(Options):
    epochs: int = Field(30, ge=1, description="training epochs of the discrete network")
    lr: float = Field(0.1, gt=0, description="initial SGD learning rate (cosine to 0)")
    batch_size: int = Field(128, ge=1, description="training batch size")
    C: int | None = Field(None, ge=1, description="network width; null: the run's space option")
    N: int | None = Field(None, ge=0, description="cells per stage (the space checks its own range); null: the run's space option")


class RetrainEvaluator(Benchmark):
    """Answers ``<dataset>/test_acc`` and ``<dataset>/train_acc`` by training the architecture.

    Options: ``epochs`` (30), ``lr`` (0.1), ``batch_size`` (128), and the network size
    ``C`` / ``N`` (default: the run's space options, from the benchmark context).
    Results are cached per architecture, since one query costs a full training.
    """

    name = "retrain"
    cheap = False
    Options = RetrainOptions
    options: RetrainOptions

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        super().__init__(options, context)
        self.epochs = self.options.epochs
        self.lr = self.options.lr
        self.batch_size = self.options.batch_size
        sized = {key: value for key in ("C", "N") if (value := getattr(self.options, key)) is not None}
        self.network_options = {**dict(context.space_options if context else {}), **sized}
        self._results: dict[Architecture, dict[str, float]] = {}

    def supports(self, space: SearchSpace) -> bool:
        return True

    def headline_metrics(self) -> list[str]:
        if self.context is None or self.context.dataset is None:
            return []
        return [f"{self.context.dataset.name}/test_acc"]

    def query(self, space: SearchSpace, arch: Architecture) -> dict[str, float]:
        context = self.context
        if context is None or context.data is None or context.dataset is None:
            raise UserError("retrain needs a dataset: use it inside `nasbench run`")
        key = tuple(int(op) for op in arch)
        if key not in self._results:
            self._results[key] = self._retrain(space, key, context.dataset, context.data, context.seed)
        return dict(self._results[key])

    def _retrain(self, space: SearchSpace, arch: Architecture, info: DatasetInfo, data: SplitData,
                 seed: int) -> dict[str, float]:
        device = data.train.images.device
        # A private RNG scope: seeding here must not change the random stream of the run around it.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            network = space.build_network(arch, info, dict(self.network_options)).to(device)
            train_acc = self._train(network, _full_search_data(data), info, seed, space.format(arch))
        test_acc = evaluate(network, data.test, info)
        return {f"{info.name}/test_acc": test_acc, f"{info.name}/train_acc": train_acc}

    def _train(self, network: nn.Module, train_set: ImageSet, info: DatasetInfo, seed: int, label: str) -> float:
        """Train in place; returns the last epoch's running train accuracy (%), as NAS-Bench-201 reports it."""
        stream = BatchStream(train_set, info, self.batch_size, seed, augment_batches=info.augment)
        steps = stream.batches_per_pass()
        optimizer = torch.optim.SGD(network.parameters(), lr=self.lr, momentum=MOMENTUM, nesterov=True,
                                    weight_decay=WEIGHT_DECAY)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs * steps, eta_min=0.0)
        criterion = nn.CrossEntropyLoss()
        network.train()
        accuracy = 0.0
        for epoch in tqdm(range(self.epochs), desc=f"retrain {label}", leave=False, disable=None):
            loss_sum = torch.zeros((), device=train_set.images.device)
            correct = torch.zeros((), device=train_set.images.device)
            seen = 0
            for _ in range(steps):
                x, y = next(stream)
                logits = network(x)
                loss = criterion(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                loss_sum += loss.detach() * y.shape[0]
                correct += (logits.detach().argmax(dim=1) == y).sum()
                seen += int(y.shape[0])
            if not torch.isfinite(loss_sum):
                raise DivergedError(f"retraining {label} diverged (loss {loss_sum.item() / seen}) in epoch {epoch + 1}")
            accuracy = 100.0 * correct.item() / seen
        return accuracy


@torch.no_grad()
def evaluate(network: nn.Module, images: ImageSet, info: DatasetInfo) -> float:
    """Top-1 accuracy (%) of ``network`` in eval mode on every example of ``images``."""
    network.eval()
    correct = torch.zeros((), device=images.labels.device)
    for x, y in iterate_once(images, info, EVAL_BATCH_SIZE):
        correct += (network(x).argmax(dim=1) == y).sum()
    return 100.0 * correct.item() / max(1, len(images))


def _full_search_data(data: SplitData) -> ImageSet:
    """Both search halves together: the final network trains on all the search data."""
    return ImageSet(torch.cat([data.train.images, data.valid.images]),
                    torch.cat([data.train.labels, data.valid.labels]))


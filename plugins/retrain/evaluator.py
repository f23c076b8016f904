"""Retraining as a benchmark: train the discrete network from scratch and measure it on the test set.

For spaces or datasets without a table, this is the ground truth a NAS paper reports:
the found architecture, trained alone on the full search data (both search halves),
evaluated on the held-out test split. Two training protocols (``protocol``; ``auto``
takes ``nb101`` for spaces of NB101 cells, ``nb201`` otherwise), both with the learning
rate annealed by a cosine to 0 per step and the dataset's standard augmentation:

- ``nb201`` (NAS-Bench-201's recipe): SGD, Nesterov momentum 0.9, lr 0.1, weight decay
  5e-4, batch 128; 30 epochs by default (NB201 trains 200).
- ``nb101`` (NAS-Bench-101, google-research/nasbench ``lib/config.py`` and its TF
  ``RMSPropOptimizer``): RMSProp with decay 0.9 (PyTorch ``alpha``), momentum 0.9 and
  epsilon 1.0, lr 0.2 (the base 0.1 scaled by its 2 TPU shards), L2 weight decay 1e-4,
  batch 256, 108 epochs. nasbench-pytorch's trainer uses the same optimizer settings
  (with PyTorch's default ``alpha`` 0.99 and gradient clipping at 5, neither of which
  NB101's config has; we follow NB101). PyTorch adds epsilon outside the square root,
  TF inside; with epsilon 1.0 the steps differ slightly.

``epochs``, ``lr`` and ``batch_size`` left unset take the protocol's values.

Inside a run, the training state is checkpointed after every epoch in the run folder
(``retrain-<architecture hash>.pt``), so a run killed while retraining resumes at the last
finished epoch and ends with the same numbers.
"""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
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
    SearchSpace,
    SplitData,
    UserError,
    load_checkpoint,
    network_accuracy,
    save_checkpoint,
)
from plugins.retrain.options import RetrainOptions


@dataclass(frozen=True)
class Protocol:
    """A benchmark's training recipe for stand-alone networks."""

    optimizer: Literal["sgd", "rmsprop"]
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    momentum: float = 0.9
    rmsprop_alpha: float = 0.9
    rmsprop_eps: float = 1.0

    def build(self, parameters: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(parameters, lr=lr, alpha=self.rmsprop_alpha, eps=self.rmsprop_eps,
                                       momentum=self.momentum, weight_decay=self.weight_decay)
        return torch.optim.SGD(parameters, lr=lr, momentum=self.momentum, nesterov=True, weight_decay=self.weight_decay)


PROTOCOLS = {
    "nb201": Protocol("sgd", epochs=30, lr=0.1, batch_size=128, weight_decay=5e-4),
    "nb101": Protocol("rmsprop", epochs=108, lr=0.2, batch_size=256, weight_decay=1e-4),
}


def protocol_for(name: str, space: SearchSpace) -> Protocol:
    """The named protocol; ``auto``: NB101's for spaces of NB101 cells, else NB201's."""
    if name == "auto":
        name = "nb101" if callable(getattr(space, "nb101_spec", None)) else "nb201"
    return PROTOCOLS[name]


class RetrainEvaluator(Benchmark):
    """Answers ``<dataset>/test_acc`` and ``<dataset>/train_acc`` by training the architecture.

    Options: ``protocol`` (auto), ``epochs``, ``lr``, ``batch_size`` (the protocol's when
    unset), and the network size ``C`` / ``N`` (default: the run's space options).
    Results are cached per architecture, since one query costs a full training.
    """

    name = "retrain"
    cheap = False
    Options = RetrainOptions
    options: RetrainOptions

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        super().__init__(options, context)
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
            protocol = protocol_for(self.options.protocol, space)
            checkpoint = self.context.work_dir / f"retrain-{_arch_key(arch)}.pt" \
                if self.context is not None and self.context.work_dir is not None else None
            train_acc = self._train(network, protocol, _full_search_data(data), info, seed, space.format(arch),
                                    checkpoint)
        test_acc = network_accuracy(network, data.test, info)
        return {f"{info.name}/test_acc": test_acc, f"{info.name}/train_acc": train_acc}

    def _train(self, network: nn.Module, protocol: Protocol, train_set: ImageSet, info: DatasetInfo, seed: int,
               label: str, checkpoint: Path | None = None) -> float:
        """Train in place; returns the last epoch's running train accuracy (%), as NAS-Bench-201 reports it.

        With a ``checkpoint`` path, the state is saved after every epoch and a killed run
        resumes from its last finished epoch instead of retraining from the start.
        """
        epochs = self.options.epochs or protocol.epochs
        batch_size = self.options.batch_size or protocol.batch_size
        stream = BatchStream(train_set, info, batch_size, seed, augment_batches=info.augment)
        steps = stream.batches_per_pass()
        optimizer = protocol.build(network.parameters(), self.options.lr or protocol.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps, eta_min=0.0)
        criterion = nn.CrossEntropyLoss()
        network.train()
        accuracy, start = 0.0, 0
        state = load_checkpoint(checkpoint, "delete it to retrain from the start") if checkpoint else None
        if state is not None:
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            stream.load_state_dict(state["stream"])
            torch.set_rng_state(state["torch_rng"])
            accuracy, start = float(state["accuracy"]), int(state["epoch"])
            print(f"retrain {label}: resuming after epoch {start}", file=sys.stderr)
        for epoch in tqdm(range(start, epochs), desc=f"retrain seed {seed}", unit="epoch", leave=False, disable=None):
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
            if not sys.stderr.isatty():  # a log or a pipe shows no progress bar: a line per epoch instead
                print(f"retrain seed {seed}: epoch {epoch + 1}/{epochs} (train acc {accuracy:.2f} %)", file=sys.stderr)
            if checkpoint is not None:
                save_checkpoint(checkpoint, {"epoch": epoch + 1, "accuracy": accuracy, "network": network.state_dict(),
                                             "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                                             "stream": stream.state_dict(), "torch_rng": torch.get_rng_state()})
        return accuracy


def _arch_key(arch: Architecture) -> str:
    """A short file-name-safe key of an architecture (ResNet spaces have dozens of edges)."""
    return hashlib.sha256(",".join(map(str, arch)).encode()).hexdigest()[:16]


def _full_search_data(data: SplitData) -> ImageSet:
    """Both search halves together: the final network trains on all the search data."""
    return ImageSet(torch.cat([data.train.images, data.valid.images]),
                    torch.cat([data.train.labels, data.valid.labels]))


"""``darts-retrain``: train a genotype's evaluation network from scratch, DARTS' CIFAR protocol.

Followed: quark0/darts ``cnn/train.py`` and ``cnn/utils.py`` (``Cutout``, ``drop_path``,
``count_parameters_in_MB``). The network is ``NetworkCIFAR`` (C = 36, 20 cells, auxiliary
head after cell 13 weighted 0.4), trained on the full training data (both search halves)
for 600 epochs with SGD (lr 0.025, momentum 0.9, weight decay 3e-4, gradient norm clipped
at 5), batch 96, the lr annealed by a cosine to 0 per epoch, the drop-path probability
raised linearly from 0 to 0.2 over the epochs, random crop + flip + cutout 16. Reported:
test error and accuracy (%) on the test split, and the parameter count in millions
without the auxiliary head (DARTS' "param size (MB)").

Resumable: after every epoch the network, optimizer and epoch go to a checkpoint in the
run folder, and every epoch draws its randomness (batch order, augmentation, drop-path)
from a generator seeded by (run seed, epoch), so a run killed after epoch k and resumed
trains exactly as an uninterrupted one. The finished result is kept next to it.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from harness import (
    Architecture,
    Benchmark,
    BenchmarkContext,
    DatasetInfo,
    DivergedError,
    ImageSet,
    SearchSpace,
    UserError,
    augment,
    network_accuracy,
    to_float,
)
from plugins.darts_space.network import GenotypeNetwork, parameter_count
from plugins.darts_space.options import DartsRetrainOptions
from plugins.darts_space.space import DartsSpace, layers_of

AUX_FEATURES = range(8, 11)
"""Feature sizes after the second reduction on which the auxiliary head yields 1×1 (CIFAR: 8)."""


class DartsRetrain(Benchmark):
    """Answers ``<dataset>/test_error``, ``/test_acc``, ``/train_acc`` and ``/params_mb`` for darts-space genotypes."""

    name = "darts-retrain"
    cheap = False
    Options = DartsRetrainOptions
    options: DartsRetrainOptions
    headline = ("cifar10/test_error", "cifar10/params_mb", "cifar100/test_error", "cifar100/params_mb")
    titles = {"cifar10/test_error": "CIFAR-10 test error (%)", "cifar10/params_mb": "CIFAR-10 params (M)",
              "cifar100/test_error": "CIFAR-100 test error (%)", "cifar100/params_mb": "CIFAR-100 params (M)"}

    def __init__(self, options: Mapping[str, Any] | None, context: BenchmarkContext | None) -> None:
        super().__init__(options, context)
        self._results: dict[Architecture, dict[str, float]] = {}

    def supports(self, space: SearchSpace) -> bool:
        return isinstance(space, DartsSpace)

    def headline_metrics(self) -> list[str]:
        if self.context is None or self.context.dataset is None:
            return []
        return [f"{self.context.dataset.name}/test_error", f"{self.context.dataset.name}/params_mb"]

    def build(self, space: DartsSpace, arch: Architecture, info: DatasetInfo) -> GenotypeNetwork:
        """The evaluation network of ``arch`` with this benchmark's size and auxiliary head."""
        auxiliary = self.options.auxiliary_weight > 0
        if auxiliary and info.image_size // 4 not in AUX_FEATURES:
            raise UserError(f"darts-retrain: the auxiliary head needs 8×8 features after the second reduction "
                            f"(32×32 images); {info.name} has {info.image_size}×{info.image_size}, so set "
                            "benchmarks.options.darts-retrain.auxiliary_weight=0")
        return GenotypeNetwork(space.genotype(arch), info.channels, info.num_classes, self.options.C,
                               layers_of(self.options.N), auxiliary=auxiliary)

    def query(self, space: SearchSpace, arch: Architecture) -> dict[str, float]:
        context = self.context
        if context is None or context.data is None or context.dataset is None:
            raise UserError("darts-retrain needs a dataset: use it inside `nasbench run`")
        if not isinstance(space, DartsSpace):
            raise UserError(f"darts-retrain trains DARTS genotypes; search space {space.name} has none")
        key = tuple(int(op) for op in arch)
        if key not in self._results:
            self._results[key] = self._retrain(space, key, context)
        return dict(self._results[key])

    def _files(self, space: DartsSpace, arch: Architecture, context: BenchmarkContext) -> tuple[Path, Path] | None:
        if context.work_dir is None:
            return None
        context.work_dir.mkdir(parents=True, exist_ok=True)
        settings = json.dumps([space.format(arch), self.options.model_dump(), context.seed], sort_keys=True)
        tag = hashlib.sha256(settings.encode()).hexdigest()[:10]
        return context.work_dir / f"darts-retrain-{tag}.pt", context.work_dir / f"darts-retrain-{tag}.json"

    def _retrain(self, space: DartsSpace, arch: Architecture, context: BenchmarkContext) -> dict[str, float]:
        assert context.data is not None and context.dataset is not None
        info, data, seed = context.dataset, context.data, context.seed
        files = self._files(space, arch, context)
        if files is not None and files[1].exists():
            return dict(json.loads(files[1].read_text()))
        device = data.train.images.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            network = self.build(space, arch, info).to(device)
        optimizer = torch.optim.SGD(network.parameters(), lr=self.options.lr, momentum=self.options.momentum,
                                    weight_decay=self.options.weight_decay)
        start, train_acc = 0, 0.0
        if files is not None and files[0].exists():
            state = torch.load(files[0], map_location=device, weights_only=True)
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            start, train_acc = int(state["epoch"]), float(state["train_acc"])
        train_set = ImageSet(torch.cat([data.train.images, data.valid.images]),
                             torch.cat([data.train.labels, data.valid.labels]))
        epochs = self.options.epochs
        for epoch in tqdm(range(start, epochs), desc=f"darts-retrain seed {seed}", unit="epoch", leave=False,
                          disable=None):
            train_acc = self.train_epoch(network, optimizer, train_set, info, seed, epoch)
            if not sys.stderr.isatty():  # a log or a pipe shows no progress bar: a line per epoch instead
                print(f"darts-retrain seed {seed}: epoch {epoch + 1}/{epochs} (train acc {train_acc:.2f} %)",
                      file=sys.stderr)
            if files is not None:
                torch.save({"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                            "epoch": epoch + 1, "train_acc": train_acc}, files[0])
        test_acc = network_accuracy(network, data.test, info)
        result = {f"{info.name}/test_acc": test_acc, f"{info.name}/test_error": 100.0 - test_acc,
                  f"{info.name}/train_acc": train_acc, f"{info.name}/params_mb": parameter_count(network) / 1e6}
        if files is not None:
            files[1].write_text(json.dumps(result))
            files[0].unlink(missing_ok=True)
        return result

    def train_epoch(self, network: GenotypeNetwork, optimizer: torch.optim.Optimizer, train_set: ImageSet,
                    info: DatasetInfo, seed: int, epoch: int) -> float:
        """One epoch at its cosine lr and drop-path probability; returns the running train accuracy (%)."""
        opts = self.options
        for group in optimizer.param_groups:
            group["lr"] = 0.5 * opts.lr * (1 + math.cos(math.pi * epoch / opts.epochs))
        network.set_drop_path(opts.drop_path_prob * epoch / opts.epochs)
        device = train_set.images.device
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(len(train_set), generator=generator)
        batch_size = min(opts.batch_size, len(train_set))
        criterion = nn.CrossEntropyLoss()
        network.train()
        correct = torch.zeros((), device=device)
        loss_sum = torch.zeros((), device=device)
        seen = 0
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed * 1_000_003 + epoch)  # drop-path masks
            for start in range(0, len(order) - batch_size + 1, batch_size):
                index = order[start:start + batch_size].to(device)
                x, y = self._batch(train_set, index, info, generator)
                logits, aux = network.forward_with_aux(x)
                loss = criterion(logits, y)
                if aux is not None:
                    loss = loss + opts.auxiliary_weight * criterion(aux, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(network.parameters(), opts.grad_clip)
                optimizer.step()
                loss_sum += loss.detach() * y.shape[0]
                correct += (logits.detach().argmax(dim=1) == y).sum()
                seen += int(y.shape[0])
        if not torch.isfinite(loss_sum):
            raise DivergedError(f"darts-retrain diverged in epoch {epoch + 1} (loss {loss_sum.item() / seen})")
        return 100.0 * correct.item() / max(1, seen)

    def _batch(self, train_set: ImageSet, index: torch.Tensor, info: DatasetInfo,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_float(train_set.images[index], info)
        if info.augment:
            x = augment(x, generator, info.crop_padding)
        if self.options.cutout:
            x = cutout(x, self.options.cutout, generator)
        return x, train_set.labels[index]


def cutout(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Zero one ``length``-sided square per image, centred uniformly and clipped at the border (DARTS ``Cutout``)."""
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b, 1), generator=generator).to(x.device)
    cx = torch.randint(0, w, (b, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h)
    cols = torch.arange(w, device=x.device).view(1, w)
    inside_rows = (rows >= cy - length // 2) & (rows < cy + length // 2)
    inside_cols = (cols >= cx - length // 2) & (cols < cx + length // 2)
    mask = (inside_rows.view(b, 1, h, 1) & inside_cols.view(b, 1, 1, w))
    return x.masked_fill(mask, 0.0)

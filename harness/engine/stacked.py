"""Stacked seeds: several seeds of one configuration trained as one model, one forward per step.

Each seed keeps everything its own run has — supernet weights and BatchNorm statistics (as
slices of stacked tensors), batch streams, architecture optimizer, noise generators — and
the seeds' networks run together under ``torch.func.vmap`` (a convolution of all seeds is
one batched call). The loss is the sum of the seeds' losses, so each seed's gradients are
exactly its own; SGD, momentum and weight decay act element-wise, and gradient clipping is
done per seed. After every epoch the stacked state is written back into each seed's own
``Trainer``, whose checkpoint, evaluation and selection then run as if it had trained alone.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from harness.api.optimizers import ArchOptimizer
from harness.api.step import Batch
from harness.api.supernet import Supernet
from harness.engine.cuda_graphs import CapturedStep
from harness.engine.trainer import Trainer, timed_share


def unstackable_reason(trainers: Sequence[Trainer]) -> str | None:
    """Why these seeds cannot train as one stack, or None when they can."""
    if len(trainers) < 2:
        return "only one seed to run"
    first = trainers[0]
    if not type(first.supernet).stackable:
        return f"the supernet {type(first.supernet).__name__} does not declare itself stackable (Supernet.stackable)"
    if not all(t.optimizer.stackable() for t in trainers):
        return (f"the architecture optimizer {type(first.optimizer).__name__} with these options cannot be "
                "stacked (ArchOptimizer.stackable)")
    search = first.search
    for setting in ("amp", "channels_last", "compile"):
        if search.get(setting):
            return f"search.{setting} is set"
    if len({t.steps_per_epoch() for t in trainers}) != 1:
        return "the seeds' search splits differ in size"
    return None


class StackedSupernet:
    """The seeds' supernets as stacked parameters and buffers, run once per call with vmap."""

    def __init__(self, supernets: Sequence[Supernet]) -> None:
        self.count = len(supernets)
        self.params, self.buffers = stack_module_state(list(supernets))
        template = copy.deepcopy(supernets[0]).to("meta")
        template.stacked = True
        self.template = template

        def one_seed(params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor,
                     weights: torch.Tensor) -> torch.Tensor:
            return functional_call(template, (params, buffers), (x, weights))

        self._forward = vmap(one_seed)

    def train(self, mode: bool = True) -> None:
        self.template.train(mode)

    def __call__(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Logits ``(seeds, batch, classes)`` of ``x`` ``(seeds, batch, ...)`` mixed with ``weights`` ``(seeds, ...)``."""
        return self._forward(self.params, self.buffers, x, weights)

    def trainable(self) -> dict[str, torch.Tensor]:
        return {name: p for name, p in self.params.items() if p.requires_grad}

    @torch.no_grad()
    def write_back(self, supernets: Sequence[Supernet]) -> None:
        """Copy each seed's slice into its own supernet."""
        for k, supernet in enumerate(supernets):
            for name, tensor in [*supernet.named_parameters(), *supernet.named_buffers()]:
                stacked = self.params.get(name, self.buffers.get(name))
                if stacked is not None:
                    tensor.copy_(stacked[k])


class StackedTrainer:
    """Trains the supernets of several seeds' ``Trainer``s as one; see the module docstring."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        reason = unstackable_reason(trainers)
        if reason is not None:
            raise ValueError(f"cannot stack these seeds: {reason}")
        self.trainers = list(trainers)
        self.optimizers: list[ArchOptimizer] = [t.optimizer for t in trainers]
        self.bilevel = self.optimizers[0].bilevel
        self.search = trainers[0].search
        self.net = StackedSupernet([t.supernet for t in trainers])
        self.weights = self.net.trainable()
        self.arch_params = [optimizer.parameters() for optimizer in self.optimizers]
        # per-seed slices are gathered for the weight step only when some optimizer regularizes
        self.regularized = any(optimizer.regularizer() is not None for optimizer in self.optimizers)
        groups = [{"params": list(self.weights.values()), "weight_decay": self.search["weight_decay"]}]
        if any(self.arch_params):
            groups.append({"params": [p for params in self.arch_params for p in params], "weight_decay": 0.0})
        self.weight_optimizer = torch.optim.SGD(groups, lr=self.search["lr"], momentum=self.search["momentum"])
        self._stack_momentum()
        self.captured = (CapturedStep(self._step, trainers[0].run.device)
                         if self.search.get("cuda_graphs") else None)  # each Trainer checked that it can

    @property
    def count(self) -> int:
        return len(self.trainers)

    def _solo_parameters(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        return dict(trainer.supernet.named_parameters())

    def _stack_momentum(self) -> None:
        """The seeds' SGD momentum as the stacked optimizer's (a seed with none yet gets zeros:
        with dampening 0 SGD's first buffer is the gradient itself, what zeros lead to)."""
        solo = [self._solo_parameters(t) for t in self.trainers]
        for name, stacked in self.weights.items():
            buffers = [t.momentum_buffer(params[name]) for t, params in zip(self.trainers, solo)]
            if any(b is not None for b in buffers):
                self.weight_optimizer.state[stacked]["momentum_buffer"] = torch.stack(
                    [torch.zeros_like(params[name]) if b is None else b for b, params in zip(buffers, solo)])
        for trainer, arch in zip(self.trainers, self.arch_params):
            for p in arch:
                buffer = trainer.momentum_buffer(p)
                if buffer is not None:
                    self.weight_optimizer.state[p]["momentum_buffer"] = buffer

    def write_back(self) -> None:
        """Every seed's weights, BatchNorm statistics and momentum into its own trainer."""
        self.net.write_back([t.supernet for t in self.trainers])
        solo = [self._solo_parameters(t) for t in self.trainers]
        for name, stacked in self.weights.items():
            buffer = self.weight_optimizer.state.get(stacked, {}).get("momentum_buffer")
            if buffer is not None:
                for k, (trainer, params) in enumerate(zip(self.trainers, solo)):
                    trainer.weight_optimizer.state[params[name]]["momentum_buffer"] = buffer[k].clone()
        for trainer, arch in zip(self.trainers, self.arch_params):
            for p in arch:
                buffer = self.weight_optimizer.state.get(p, {}).get("momentum_buffer")
                if buffer is not None:
                    trainer.weight_optimizer.state[p]["momentum_buffer"] = buffer

    def losses(self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-seed mean cross-entropy ``(seeds,)``, logits ``(seeds, batch, classes)``)."""
        logits = self.net(x, weights).float()
        per_example = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
        return per_example.view(self.count, -1).mean(dim=1), logits

    def train_epoch(self, progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
        """One pass over every seed's search-train half; per seed its loss and accuracy."""
        for group, solo in zip(self.weight_optimizer.param_groups, self.trainers[0].weight_optimizer.param_groups):
            group["lr"] = solo["lr"]  # each seed's scheduler decides; the seeds share the schedule
        self.net.train(True)
        device = self.trainers[0].run.device
        total_loss = torch.zeros(self.count, device=device)
        total_correct = torch.zeros(self.count, device=device)
        steps = self.trainers[0].steps_per_epoch()
        seen = 0
        with timed_share(self.trainers):
            for _ in range(steps):
                x, y = self.next_batches("train")
                loss, logits = self.search_step((x, y), self.next_batches("valid") if self.bilevel else None)
                total_loss += loss.detach() * y.shape[1]
                total_correct += (logits.argmax(dim=-1) == y).sum(dim=1)
                seen += int(y.shape[1])
                if progress is not None:
                    progress(1)
        self.write_back()
        for trainer in self.trainers:
            trainer.images_seen += seen * (2 if self.bilevel else 1)
        mean_loss = (total_loss / max(seen, 1)).tolist()
        accuracy = (100.0 * total_correct / max(seen, 1)).tolist()
        return [{"train_loss": loss, "train_acc": acc} for loss, acc in zip(mean_loss, accuracy)]

    def fixed_step(self) -> Callable[[], object]:
        """One search step of every seed, on the same batches at every call (``nasbench bench`` times it)."""
        batches = (self.next_batches("train"), self.next_batches("valid") if self.bilevel else None)
        self.net.train(True)
        return lambda: self.search_step(*batches)

    def next_batches(self, split: str) -> Batch:
        """Every seed's next batch of its own ``split`` ("train" or "valid") stream, stacked ``(seeds, batch, ...)``."""
        pairs = [next(t.train_stream if split == "train" else t.valid_stream) for t in self.trainers]
        return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])

    def search_step(self, train: Batch, valid: Batch | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Every seed's architecture step on ``valid`` (None: none), then its weight step on ``train``;
        returns the per-seed training losses and the logits (replayed from a CUDA graph with
        ``search.cuda_graphs``)."""
        if self.captured is not None:
            return self.captured.search_step(self.weight_optimizer, train, valid)
        return self._step(*train) if valid is None else self._step(*train, *valid)

    def _step(self, x: torch.Tensor, y: torch.Tensor, *valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if valid:
            self._arch_step(valid[0], valid[1])
        loss, logits = self._weight_step(x, y)
        return loss.detach(), logits.detach()

    def _arch_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Every seed's architecture step: one forward and backward per gradient point, for all seeds."""
        points = [optimizer.gradient_points() for optimizer in self.optimizers]
        grads: list[list[torch.Tensor]] = [[] for _ in self.optimizers]
        for m in range(len(points[0])):
            at = [seed_points[m] for seed_points in points]
            weights = torch.stack([optimizer.weights_at(point) for optimizer, point in zip(self.optimizers, at)])
            loss = self.losses(x, y, weights)[0].sum()
            found = torch.autograd.grad(loss, at, allow_unused=True)
            for k, (point, grad) in enumerate(zip(at, found)):
                grads[k].append(torch.zeros_like(point) if grad is None else grad)
        for optimizer, seed_grads in zip(self.optimizers, grads):
            optimizer.apply_gradients(seed_grads)

    def _weight_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = torch.stack([optimizer.mixing_weights(training=True) for optimizer in self.optimizers])
        if self.bilevel:
            weights = weights.detach()
        loss, logits = self.losses(x, y, weights)
        total = loss.sum()
        if self.regularized:
            for k, optimizer in enumerate(self.optimizers):
                regularizer = optimizer.regularizer({name: stacked[k] for name, stacked in self.weights.items()})
                if regularizer is not None:
                    total = total + regularizer
        self.weight_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self._clip_per_seed()
        self.weight_optimizer.step()
        return loss, logits

    @torch.no_grad()
    def _clip_per_seed(self) -> None:
        """``clip_grad_norm_`` of each seed's own gradients (its slices and its architecture parameters)."""
        stacked = [p.grad for p in self.weights.values() if p.grad is not None]
        device = self.trainers[0].run.device
        squares = torch.zeros(self.count, device=device)
        for grad in stacked:
            squares += grad.reshape(self.count, -1).float().pow(2).sum(dim=1)
        for k, params in enumerate(self.arch_params):
            for p in params:
                if p.grad is not None:
                    squares[k] += p.grad.float().pow(2).sum()
        scale = (self.search["grad_clip"] / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for grad in stacked:
            grad.mul_(scale.view(-1, *[1] * (grad.dim() - 1)).to(grad.dtype))
        for k, params in enumerate(self.arch_params):
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(scale[k].to(p.grad.dtype))

"""The bi-level search loop's trainer: architecture step on a validation batch, weight
step on a train batch (SGD, momentum, cosine LR, gradient clipping), and evaluation.

It implements ``harness.api.step.TrainerView``, the part optimizers and selectors see.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from harness.api.errors import UserError
from harness.api.optimizers import ArchOptimizer
from harness.api.run import RunContext
from harness.api.step import Batch, SearchStep, WeightTransform
from harness.api.supernet import Supernet
from harness.engine.arch_gradient import gradient_or_zeros
from harness.engine.compiling import compiled
from harness.engine.cuda_graphs import CapturedStep
from harness.engine.data import BatchStream, iterate_once, shuffled_pass
from harness.engine.devices import synchronize


class DivergedError(RuntimeError):
    """The loss became NaN or infinite; the run is recorded as failed."""


class Trainer:
    """Trains and evaluates one supernet; the loop uses it per epoch, selectors to fine-tune."""

    def __init__(self, run: RunContext, supernet: Supernet, optimizer: ArchOptimizer) -> None:
        self.run = run
        self.search = run.search
        self.supernet = supernet
        self.optimizer = optimizer
        self.criterion = nn.CrossEntropyLoss()
        groups = [{"params": [p for p in supernet.parameters() if p.requires_grad],
                   "weight_decay": self.search["weight_decay"]}]
        if optimizer.parameters():
            groups.append({"params": optimizer.parameters(), "weight_decay": 0.0,
                           "lr": self.search["lr"] * optimizer.lr_scale()})
        # foreach: one call per update for all tensors; CPUs default to a Python loop over them (~1.4 ms a
        # step at C = 8, N = 1), with the same per-element arithmetic, so the same bits
        self.weight_optimizer = torch.optim.SGD(groups, lr=self.search["lr"], momentum=self.search["momentum"],
                                                foreach=True)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.weight_optimizer, T_max=max(1, self.search["epochs"]), eta_min=self.search["lr_min"])
        info, batch = run.dataset, self.search["batch_size"]
        self.train_stream = BatchStream(run.data.train, info, batch, run.seed * 2 + 1, info.augment)
        self.valid_stream = BatchStream(run.data.valid, info, batch, run.seed * 2 + 2, info.augment)
        self.eval_generator = torch.Generator().manual_seed(run.seed * 2 + 3)
        self.weight_transform: WeightTransform | None = None
        self.amp = bool(self.search.get("amp"))
        self.channels_last = bool(self.search.get("channels_last"))
        torch.backends.cudnn.benchmark = bool(self.search.get("cudnn_benchmark"))  # process-wide: the run's setting
        if self.channels_last:
            supernet.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model = compiled(supernet, self.search.get("compile"), self.search.get("compile_mode"),
                              self.search.get("compile_options"))
        self.captured = self._captured_step() if self.search.get("cuda_graphs") else None
        self.images_seen = 0
        self.seconds = 0.0

    def _captured_step(self) -> CapturedStep:
        if self.search.get("compile"):
            raise UserError("search.cuda_graphs and search.compile both set: choose one (search.compile_mode="
                            "reduce-overhead is torch.compile's own CUDA graphs)")
        if not (self.optimizer.stackable() and self.optimizer.capturable()):
            raise UserError(f"search.cuda_graphs: the architecture optimizer {type(self.optimizer).__name__} with "
                            "these options cannot be replayed from a CUDA graph (ArchOptimizer.capturable); "
                            "leave search.cuda_graphs off")
        return CapturedStep(self._graphable_step, self.run.device)

    def current_lr(self) -> float:
        return float(self.weight_optimizer.param_groups[0]["lr"])

    def loss(self, batch: Batch, weights: torch.Tensor, weight_grads: bool = True) -> torch.Tensor:
        """With ``weight_grads=False`` the weights do not require grad while the loss is built, so
        its backward skips every weight gradient. Eager autograd prunes them anyway when asked for
        ∇α only; a compiled supernet's backward (one AOT-autograd node) would compute them all."""
        x, y = batch
        if weight_grads:
            return self.criterion(self.forward(x, weights), y)
        params = self.weight_parameters()
        for p in params:
            p.requires_grad_(False)
        try:
            return self.criterion(self.forward(x, weights), y)
        finally:
            for p in params:
                p.requires_grad_(True)

    def weight_parameters(self) -> list[torch.Tensor]:
        return [p for p in self.supernet.parameters() if p.requires_grad]

    def momentum_buffer(self, parameter: torch.Tensor) -> torch.Tensor | None:
        return self.weight_optimizer.state.get(parameter, {}).get("momentum_buffer")

    @contextmanager
    def projected(self, transform: WeightTransform) -> Iterator[None]:
        """Every op-weight tensor goes through ``transform`` inside the block (nested: innermost wins)."""
        previous = self.weight_transform
        self.weight_transform = transform
        try:
            yield
        finally:
            self.weight_transform = previous

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Supernet output with the selector's projection (if any) applied to ``weights``."""
        if self.weight_transform is not None:
            weights = self.weight_transform(weights)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = (torch.autocast(x.device.type, dtype=torch.bfloat16, cache_enabled=self.captured is None)
                    if self.amp else nullcontext())
        with autocast:
            return self.model(x, weights).float()

    def reset_weight_momentum(self) -> None:
        """Forget SGD's momentum, as a freshly built weight optimizer would (PT's fine-tuning)."""
        self.weight_optimizer.state.clear()
        if self.captured is not None:
            self.captured.reset()

    def steps_per_epoch(self) -> int:
        steps = self.train_stream.batches_per_pass()
        cap = self.search.get("max_steps_per_epoch")
        return min(steps, int(cap)) if cap else steps

    def train_epoch(self, update_arch: bool = True, lr: float | None = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, float]:
        """One pass over the search-train half; ``lr`` overrides the schedule (fine-tuning)."""
        scheduled = [group["lr"] for group in self.weight_optimizer.param_groups]
        if lr is not None:
            for group in self.weight_optimizer.param_groups:
                group["lr"] = lr
        self.supernet.train()
        bilevel = self.optimizer.bilevel and update_arch
        total_loss = torch.zeros((), device=self.run.device)
        total_correct = torch.zeros((), device=self.run.device)
        seen = 0
        try:
            with timed_share([self]):
                for step in range(self.steps_per_epoch()):
                    x, y = next(self.train_stream)
                    val_batch = next(self.valid_stream) if bilevel else None
                    if val_batch is not None:
                        self.images_seen += int(val_batch[1].shape[0])
                    loss, logits = self.search_step((x, y), val_batch, step)
                    total_loss += loss.detach() * y.shape[0]
                    total_correct += (logits.argmax(dim=1) == y).sum()
                    seen += int(y.shape[0])
                    if progress is not None:
                        progress(1)
        finally:
            for group, value in zip(self.weight_optimizer.param_groups, scheduled):
                group["lr"] = value
        self.images_seen += seen
        stats = {"train_loss": float(total_loss) / max(seen, 1), "train_acc": 100.0 * float(total_correct) / max(seen, 1)}
        self.raise_if_diverged(stats)
        return stats

    def raise_if_diverged(self, stats: dict[str, float]) -> None:
        """``DivergedError`` when the epoch's training loss is NaN or infinite."""
        if not math.isfinite(stats["train_loss"]):
            raise DivergedError(f"training loss became {stats['train_loss']} (lr {self.current_lr():.4g})")

    def search_step(self, train_batch: Batch, val_batch: Batch | None, step: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the loop: the architecture step on ``val_batch`` (None: none), then the
        weight step on ``train_batch``; returns the training (loss, logits).

        With ``search.cuda_graphs`` the step is replayed from a CUDA graph (``CapturedStep``),
        except under a selector's projection, whose host-side decisions a graph would freeze.
        """
        if self.captured is not None and self.weight_transform is None:
            return self.captured.search_step(self.weight_optimizer, train_batch, val_batch)
        if val_batch is not None:
            self.optimizer.step(SearchStep(self, train_batch, val_batch, self.scheduler.last_epoch, step))
        return self._weight_step(*train_batch)

    def _graphable_step(self, x: torch.Tensor, y: torch.Tensor, *valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``search_step`` with the architecture step as ``gradient_points`` → ∇ L_val → ``apply_gradients``
        (what a stackable optimizer's ``step`` does), so that it sees no ``SearchStep``; what
        ``CapturedStep`` captures."""
        if valid:
            points = self.optimizer.gradient_points()
            val_batch = (valid[0], valid[1])
            grads = [gradient_or_zeros(self.loss(val_batch, self.optimizer.weights_at(p), weight_grads=False), p) for p in points]
            self.optimizer.apply_gradients(grads)
        loss, logits = self._weight_step(x, y)
        return loss.detach(), logits.detach()  # keeps no autograd graph alive into the next step

    def _weight_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = self.optimizer.mixing_weights(training=True)
        if self.optimizer.bilevel:
            weights = weights.detach()
        logits = self.forward(x, weights)
        loss = self.criterion(logits, y)
        regularizer = self.optimizer.regularizer()
        total = loss if regularizer is None else loss + regularizer
        self.weight_optimizer.zero_grad(set_to_none=True)
        total.backward()
        params = [p for group in self.weight_optimizer.param_groups for p in group["params"]]
        nn.utils.clip_grad_norm_(params, self.search["grad_clip"], foreach=True)
        self.weight_optimizer.step()
        return loss, logits

    @torch.no_grad()
    def evaluate(self, split: str = "valid", weights: torch.Tensor | None = None, bn_train: bool = False,
                 max_batches: int | None = None, augmented: bool = False) -> tuple[float, float]:
        """(accuracy %, mean loss) of the supernet on ``split`` ("train", "valid" or "test").

        ``bn_train`` uses batch statistics, as PT's perturbation step does; the running
        statistics are restored afterwards so evaluation leaves no trace. By default every
        image is seen once, in order, unaugmented, in ``eval_batch_size`` batches;
        ``augmented`` reads the split as the search streams do instead — shuffled, in
        ``batch_size`` batches, with the dataset's training augmentation — drawn from the
        trainer's own evaluation generator (fresh at every call, reproducible per seed).
        """
        data = getattr(self.run.data, split)
        info = self.run.dataset
        batches = (shuffled_pass(data, info, self.search["batch_size"], self.eval_generator, info.augment)
                   if augmented else iterate_once(data, info, self.search["eval_batch_size"]))
        if weights is None:
            weights = self.optimizer.mixing_weights(training=False)
        saved = {k: v.clone() for k, v in self.supernet.state_dict().items() if "running" in k or "num_batches" in k}
        self.supernet.train(bn_train)
        correct, seen = torch.zeros((), device=self.run.device), 0
        loss_total = torch.zeros((), device=self.run.device)
        for i, (x, y) in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                break
            logits = self.forward(x, weights)
            loss_total += self.criterion(logits, y) * y.shape[0]
            correct += (logits.argmax(dim=1) == y).sum()
            seen += int(y.shape[0])
        if bn_train and saved:
            self.supernet.load_state_dict(saved, strict=False)
        self.supernet.train()
        return 100.0 * float(correct) / max(seen, 1), float(loss_total) / max(seen, 1)

    def images_per_second(self) -> float:
        return self.images_seen / self.seconds if self.seconds > 0 else 0.0

    def state_dict(self) -> dict:
        return {
            "supernet": self.supernet.state_dict(),
            "weight_optimizer": self.weight_optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "train_stream": self.train_stream.state_dict(),
            "valid_stream": self.valid_stream.state_dict(),
            "eval_generator": self.eval_generator.get_state(),
            "images_seen": self.images_seen,
            "seconds": self.seconds,
        }

    def load_state_dict(self, state: dict) -> None:
        if self.captured is not None:
            self.captured.reset()
        self.supernet.load_state_dict(state["supernet"])
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.train_stream.load_state_dict(state["train_stream"])
        self.valid_stream.load_state_dict(state["valid_stream"])
        if "eval_generator" in state:  # checkpoints from before augmented evaluation lack it
            self.eval_generator.set_state(state["eval_generator"])
        self.images_seen = state["images_seen"]
        self.seconds = state["seconds"]


@contextmanager
def timed_share(trainers: Sequence[Trainer]) -> Iterator[None]:
    """Times the block, the device's queued work included, and credits every trainer an equal share
    (several seeds trained together each cost their share of the wall time)."""
    device = trainers[0].run.device
    synchronize(device)
    start = time.perf_counter()
    yield
    synchronize(device)
    elapsed = time.perf_counter() - start
    for trainer in trainers:
        trainer.seconds += elapsed / len(trainers)

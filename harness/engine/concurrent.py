"""Seeds side by side: each seed's own ``Trainer`` takes a step in turn, each on its own CUDA stream.

With ``search.cuda_graphs`` a step costs the host one graph replay, and each seed's graph
queues on its own stream, where the GPU can run the seeds' kernels together: a batch-64
NB201 step is thousands of kernels, each too small to fill the GPU on its own. The
alternative, the seeds as one vmapped model, is slower there: on an H200, 4 graphed seeds
stacked that way took 4.49× one seed's step, more than one after another
(docs/gpu-speed.md). Each seed runs exactly its own computation (its trainer, batches,
optimizers and kernels), so it trains as it would alone.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from harness.engine.cuda_graphs import CapturedStep
from harness.engine.trainer import Trainer, train_in_lockstep


class ConcurrentSeeds:
    """The seeds' trainers in lockstep, one CUDA stream each (none on a CPU, where they simply alternate)."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        if len({t.steps_per_epoch() for t in trainers}) != 1:
            raise ValueError("seeds in lockstep need the same number of steps per epoch")
        self.trainers = list(trainers)
        device = self.trainers[0].run.device
        self.streams = [torch.cuda.Stream(device) for _ in self.trainers] if device.type == "cuda" else None
        self.captured: CapturedStep | None = self.trainers[0].captured

    @property
    def count(self) -> int:
        return len(self.trainers)

    def train_epoch(self, progress: Callable[[int], None] | None = None) -> list[dict[str, float]]:
        """One epoch of every seed; per seed its loss (non-finite when it diverged) and accuracy."""
        return train_in_lockstep(self.trainers, [t.epoch_steps() for t in self.trainers], progress, self.streams)

    def fixed_step(self) -> Callable[[], None]:
        """One search step of every seed, on the same batches at every call (``nasbench bench`` times it)."""
        batches = [(next(t.train_stream), next(t.valid_stream) if t.optimizer.bilevel else None) for t in self.trainers]
        for trainer in self.trainers:
            trainer.supernet.train()

        def step() -> None:
            for k, (trainer, (train, valid)) in enumerate(zip(self.trainers, batches)):
                stream = None if self.streams is None else self.streams[k]
                if stream is not None:
                    stream.wait_stream(torch.cuda.current_stream(stream.device))  # the batches were made there
                with torch.cuda.stream(stream):
                    trainer.search_step(train, valid)

        return step

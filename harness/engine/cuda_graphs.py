"""Whole-step CUDA graphs: a search step captured once and replayed as one launch.

On a GPU a batch-64 step of the NB201 supernet is bound by Python and kernel launches,
not arithmetic (docs/gpu-speed.md): thousands of small kernels per architecture + weight
step. Replaying a captured ``torch.cuda.CUDAGraph`` launches all of them at once.

A graph bakes in everything the host decided while it was captured: Python branches (SGD's
"no momentum buffer yet"), and numbers handed to kernels as scalars (the learning rates).
So the step is captured again whenever its ``key`` (the caller's host-side numbers, e.g.
the learning rates) changes, and every capture follows an eager step with the same key, on
a side stream as PyTorch's graph docs ask, in which lazily created state (momentum buffers,
Adam moments, cuDNN's algorithm choice) comes into being. Eager steps are real steps of
the run, so the trajectory is the eager one.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

import torch

from harness.api.errors import UserError

Step = Callable[..., tuple[torch.Tensor, ...]]


class CapturedStep:
    """Runs ``step(*inputs)`` eagerly ``warmup`` times, then captures it and replays the graph.

    The outputs of a replay are the graph's own tensors: read them before the next call.
    """

    def __init__(self, step: Step, device: torch.device, warmup: int = 3) -> None:
        if device.type != "cuda" or not torch.cuda.is_available():
            raise UserError(f"search.cuda_graphs needs a CUDA device, not {device}: run with --device cuda "
                            "or leave search.cuda_graphs off")
        self.step = step
        self.device = device
        self.warmup = warmup
        self.captures = 0
        self._eager_left = warmup
        self._key: Hashable = None
        self._graph: torch.cuda.CUDAGraph | None = None
        self._inputs: list[torch.Tensor] = []
        self._outputs: tuple[torch.Tensor, ...] = ()
        self._side_stream = torch.cuda.Stream(device)

    def reset(self) -> None:
        """Forget the graph, and warm up again: the state it read was replaced (new optimizer
        state, a loaded checkpoint)."""
        self._graph = None
        self._eager_left = max(self._eager_left, self.warmup)

    def __call__(self, key: Hashable, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if key != self._key:
            self._graph = None
            self._key = key
            self._eager_left = max(self._eager_left, 1)
        if self._eager_left > 0:
            self._eager_left -= 1
            return self._eager(inputs)
        if self._graph is None:
            self._capture(inputs)
        for static, value in zip(self._inputs, inputs):
            static.copy_(value)
        assert self._graph is not None
        self._graph.replay()
        return self._outputs

    def search_step(self, weight_optimizer: torch.optim.Optimizer, train: tuple[torch.Tensor, torch.Tensor],
                    valid: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``step(*train, *valid)`` (``valid`` None: ``step(*train)``), keyed by whether there is an
        architecture step and by ``weight_optimizer``'s learning rates, which SGD bakes into the graph."""
        lrs = tuple(group["lr"] for group in weight_optimizer.param_groups)
        inputs = train if valid is None else (*train, *valid)
        loss, logits = self((valid is not None, lrs), *inputs)
        return loss, logits

    def _eager(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        current = torch.cuda.current_stream(self.device)
        side = self._side_stream
        side.wait_stream(current)
        with torch.cuda.stream(side):
            outputs = self.step(*inputs)
        current.wait_stream(side)
        return outputs

    def _capture(self, inputs: tuple[torch.Tensor, ...]) -> None:
        self._inputs = [value.clone() for value in inputs]
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._outputs = self.step(*self._inputs)
        except RuntimeError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UserError(f"search.cuda_graphs: this search step cannot be captured as a CUDA graph "
                            f"({first_line}); leave search.cuda_graphs off") from error
        self._graph = graph
        self.captures += 1

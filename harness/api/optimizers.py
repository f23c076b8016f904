"""The architecture-optimizer contract: owns the architecture distribution and its update."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from harness.api.options import NoOptions, Options, parse_options

if TYPE_CHECKING:
    import torch

    from harness.api.run import RunContext
    from harness.api.spaces import SearchSpace
    from harness.api.step import SearchStep
    from harness.api.supernet import Supernet


class ArchOptimizer(ABC):
    """Architecture parameters, how they mix the supernet's ops, and their update rule.

    Bi-level optimizers (DARTS, BaLeNAS) get one ``step`` on a validation batch before
    every weight step. Single-level ones (PGNAS) set ``bilevel = False``: their
    ``parameters()`` join the weight optimizer and ``regularizer()`` is added to the
    training loss. ``Options`` declares the optimizer's settings (see ``harness.Options``).
    """

    bilevel: bool = True
    Options: ClassVar[type[Options]] = NoOptions

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = parse_options(type(self).Options, options, f"optimizer {getattr(self, 'name', '') or type(self).__name__}")

    @abstractmethod
    def attach(self, space: SearchSpace, supernet: Supernet, run: RunContext) -> None:
        """Create the architecture parameters on ``run.device``."""

    @abstractmethod
    def mixing_weights(self, training: bool) -> torch.Tensor:
        """The supernet's op weights for a weight step (``training``) or an evaluation."""

    @abstractmethod
    def logits(self) -> torch.Tensor:
        """Per edge-op scores ``(num_edges, num_ops)`` whose argmax is the current architecture."""

    def step(self, step: SearchStep) -> None:
        """One architecture update; bi-level optimizers must override this.

        ``step.epoch`` (from 0) and ``step.step`` (the step within the epoch) tell where the
        search is, e.g. for a temperature schedule (GDAS); they are restored on resume.
        """
        if self.bilevel:
            raise NotImplementedError(f"{type(self).__name__} is bi-level but has no step()")

    def sample_logits(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` draws ``(count, num_edges, num_ops)`` from the architecture distribution.

        Deterministic optimizers return the same logits ``count`` times.
        """
        return self.logits().detach().unsqueeze(0).expand(count, *self.logits().shape).clone()

    def stackable(self) -> bool:
        """True when seeds of this optimizer can train stacked, as one model (``harness.engine.stacked``).

        A bi-level optimizer says so when its step is ``gradient_points`` → ∇ L_val at each →
        ``apply_gradients`` (which see no ``SearchStep``: a step that depends on the epoch or
        the step index, such as a temperature schedule, is not stackable this way). A
        single-level one can be stacked when its ``regularizer`` reads the weights it is
        handed (a regularizer that read its own references to the seed's supernet tensors
        would miss the stacked ones). The default: single-level without a regularizer.
        """
        return not self.bilevel and self.regularizer() is None

    def capturable(self) -> bool:
        """True when this optimizer's step can be replayed from a CUDA graph (``search.cuda_graphs``).

        The graphed step is the stackable one (``gradient_points`` → ∇ L_val → ``apply_gradients``)
        plus ``mixing_weights(training=True)`` for the weight step, captured once and replayed: it
        must launch device work only and nothing the host decides anew each step — no ``.item()``,
        no noise drawn on the host, torch optimizers built with ``capturable=True`` (``attach`` can
        read ``run.search["cuda_graphs"]``). Default: not capturable.
        """
        return False

    def gradient_points(self) -> list[torch.Tensor]:
        """Stacked seeds: the leaves (requiring grad) at which this architecture step needs ∇ L_val.

        Called once per step, before the gradients are taken (it may draw noise, as BaLeNAS'
        samples do). The harness computes ∂L_val/∂point for every seed of a stack in one
        forward and backward per point, with the supernet mixed by ``weights_at(point)``, and
        hands the gradients to ``apply_gradients``. Only called when ``stackable()``.
        """
        raise NotImplementedError(f"{type(self).__name__} is not stackable")

    def weights_at(self, point: torch.Tensor) -> torch.Tensor:
        """The supernet's op weights at one of ``gradient_points()`` (differentiable in it)."""
        raise NotImplementedError(f"{type(self).__name__} returns gradient points but has no weights_at()")

    def apply_gradients(self, grads: list[torch.Tensor]) -> None:
        """The architecture update from ∇ L_val at each of this step's ``gradient_points()``, in order."""
        raise NotImplementedError(f"{type(self).__name__} returns gradient points but has no apply_gradients()")

    def parameters(self) -> list[torch.Tensor]:
        """Tensors trained with the weights (single-level optimizers only)."""
        return []

    def lr_scale(self) -> float:
        """Factor on the weight optimizer's learning rate for ``parameters()`` (their own param group,
        same cosine schedule): architecture parameters may need a faster clock than the weights."""
        return 1.0

    def regularizer(self, weights: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor | None:
        """A term added to the weight-step loss (single-level optimizers only).

        ``weights`` maps the supernet's parameter names to the tensors to regularize instead
        of its own: a seed's slices of the stacked weights, when seeds train stacked.
        """
        return None

    def summary(self) -> dict[str, float]:
        """Scalars worth recording each epoch (e.g. σ statistics)."""
        return {}

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume from a checkpoint."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        ...

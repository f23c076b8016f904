"""PGNAS's posterior-guided sampling and ranking (§2.3, Algorithm 1 lines 7–16).

C architecture–weight pairs are drawn from the learned gates; each is the trained
supernet with deterministic gates (one-hot rows of the mixing weights), scored on the
held-out validation half, and the best one is kept, without fine-tuning.

NB201 adaptation: the paper's gates switch convolution kernels of a multi-branch
network on and off, and any subset of kernels is a valid network. In a cell space an
edge needs exactly one op, so a candidate keeps one op per edge, drawn with probability
proportional to that op's keep probability 1 − p (the posterior marginals of Eq. 13
conditioned on "exactly one op kept"). In binary spaces (ops ``drop``/``keep``, e.g.
``pgnas-resnet``) each gate is an independent Bernoulli(1 − p) as in the paper,
conditioned on every block in the space's ``edge_blocks`` keeping at least one edge.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from harness import Architecture, Selection, SelectionContext, Selector
from plugins.pgnas.options import PosteriorOptions

MIN_KEEP = 1e-12
"""Keep probabilities are floored here, so a saturated gate still has a (tiny) chance."""


def sample_one_op_per_edge(keep: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` one-hot draws ``(count, edges, ops)``; edge e takes op o with probability ∝ ``keep[e, o]``.

    Zero entries (ops without a gate) are never drawn.
    """
    probs = keep.detach().double().cpu()
    probs = torch.where(probs > 0, probs.clamp_min(MIN_KEEP), probs)
    draws = torch.multinomial(probs, count, replacement=True, generator=generator)
    return F.one_hot(draws.T, keep.shape[-1]).to(keep.dtype)


def sample_blocks(keep: torch.Tensor, blocks: Sequence[Sequence[int]], count: int,
                  generator: torch.Generator) -> torch.Tensor:
    """``count`` draws ``(count, units)`` of independent Bernoulli(``keep``) bits, each block keeping ≥ 1.

    Exact conditional sampling, unit by unit: while none of a block's units is kept yet,
    unit i is kept with probability q_i / (1 − Π_{j ≥ i} (1 − q_j)); once one is kept, the
    rest are free. The last unit of a still-empty block is therefore always kept.
    """
    q = keep.detach().double().cpu().clamp(MIN_KEEP, 1.0)
    bits = (torch.rand(count, q.shape[0], generator=generator, dtype=torch.float64) < q).to(keep.dtype)
    for block in blocks:
        index = torch.as_tensor(list(block), dtype=torch.long)
        qb = q[index]
        none_from = torch.flip(torch.cumprod(torch.flip(1.0 - qb, [0]), 0), [0])
        noise = torch.rand(count, index.shape[0], generator=generator, dtype=torch.float64)
        found = torch.zeros(count, dtype=torch.bool)
        chosen = torch.zeros(count, index.shape[0], dtype=torch.bool)
        for i in range(index.shape[0]):
            conditional = torch.where(found, qb[i], qb[i] / (1.0 - none_from[i]))
            chosen[:, i] = noise[:, i] < conditional
            found |= chosen[:, i]
        bits[:, index] = chosen.to(keep.dtype)
    return bits


def curve_points(count: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, … up to ``count``, and ``count`` itself (Table 6's x axis)."""
    points: list[int] = []
    scale = 1
    while scale <= count:
        points.extend(m * scale for m in (1, 2, 5) if m * scale <= count)
        scale *= 10
    if not points or points[-1] != count:
        points.append(count)
    return points


class PosteriorSelector(Selector):
    """Sample ``candidates`` architecture–weight pairs from the optimizer and keep the best on held-out data.

    Options: ``candidates`` (1500, the paper's CIFAR setting), ``eval_batches`` (cap on
    validation batches of ``search.eval_batch_size`` per candidate; None = the whole
    validation half), ``bn_train`` (True: BatchNorm on batch statistics, as PT does,
    because NB201's one-op candidates differ from the multi-op supernet whose running
    statistics were collected; the ``pgnas-resnet`` method sets False, the paper's
    setting, since its candidates are drawn from the training distribution itself).

    Candidates come from ``optimizer.sample_logits`` (one-hot for PGNAS; any other
    optimizer's draws are discretized by ``space.argmax``). Identical candidates are
    scored once. ``details`` holds the best held-out accuracy among the first c
    candidates for c = 1, 2, 5, 10, …, C (Table 6), the best candidate's parameter count,
    and, where the space reports them, its dropped channel and branch fractions (Table 7).
    The trajectory has one row per candidate; the cheap benchmarks are queried only when
    the best changes.
    """

    name = "posterior"
    Options = PosteriorOptions
    options: PosteriorOptions

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.candidates = self.options.candidates
        self.eval_batches = self.options.eval_batches
        self.bn_train = self.options.bn_train

    def select(self, ctx: SelectionContext) -> Selection:
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(int(ctx.rng.integers(2 ** 62)))
        draws = ctx.optimizer.sample_logits(self.candidates, generator)
        scored: dict[Architecture, float] = {}
        trajectory: list[dict[str, Any]] = []
        best: Architecture | None = None
        best_acc, best_number = float("-inf"), 0
        curve: dict[int, float] = {}
        points = set(curve_points(self.candidates))
        for number, draw in enumerate(draws, start=1):
            arch = ctx.space.argmax(draw)
            if arch not in scored:
                scored[arch] = self._score(ctx, arch)
            row: dict[str, Any] = {"candidate": number, "arch": ctx.space.format(arch), "valid_acc": scored[arch]}
            if scored[arch] > best_acc:
                best, best_acc, best_number = arch, scored[arch], number
                row.update(ctx.query(arch))
            row["best_valid_acc"] = best_acc
            trajectory.append(row)
            if number in points:
                curve[number] = best_acc
        if best is None:  # unreachable: candidates >= 1 and every accuracy is finite
            raise RuntimeError(f"posterior selection scored no candidate out of {self.candidates}")
        details: dict[str, Any] = {
            "candidates": self.candidates, "unique_candidates": len(scored), "best_valid_acc": best_acc,
            "best_candidate": best_number,
            "curve": [{"candidates": c, "best_valid_acc": acc} for c, acc in curve.items()],
            "eval_batches": self.eval_batches, "bn_train": self.bn_train,
            "params": self._parameter_count(ctx, best),
        }
        stats = getattr(ctx.space, "architecture_stats", None)
        if stats is not None:
            details.update(stats(best))
        details["selection_seconds"] = time.perf_counter() - started
        return Selection(best, details, trajectory)

    def _score(self, ctx: SelectionContext, arch: Architecture) -> float:
        """Held-out accuracy of the supernet with deterministic gates: one-hot rows on ``arch``."""
        index = torch.as_tensor(arch, dtype=torch.long, device=ctx.run.device)
        weights = F.one_hot(index, ctx.space.num_ops).float()
        accuracy, _ = ctx.trainer.evaluate("valid", weights=weights, bn_train=self.bn_train,
                                           max_batches=self.eval_batches)
        return accuracy

    @staticmethod
    def _parameter_count(ctx: SelectionContext, arch: Architecture) -> int:
        network = ctx.space.build_network(arch, ctx.dataset, dict(ctx.run.config["space"]["options"]))
        return sum(p.numel() for p in network.parameters())

"""PGNAS's posterior-guided sampling and ranking (§2.3, Algorithm 1 lines 7–16).

C architecture–weight pairs are drawn from the learned gates; each is the trained
supernet with deterministic gates, scored on the held-out validation half, and the best
one is kept, without fine-tuning.

Every gate is an independent Bernoulli keep with probability 1 − p (Algorithm 1 line 7,
"each candidate is sampled by randomly dropping convolution kernels w.r.t. the
probability p"), so a candidate is a gate pattern of the kind the supernet was trained
on, and it is scored as that pattern, with BatchNorm on the running statistics of
training (``bn_train: false``, the paper's regime).

Binary spaces (ops ``drop``/``keep``, e.g. ``pgnas-resnet``): the pattern is the
architecture, conditioned on every block in the space's ``edge_blocks`` keeping at
least one edge.

Cell spaces (NB201) need one op per edge, which a pattern with several kept ops per
edge is not, so the best *pattern* is turned into a cell by ``cell_scores``: on each
edge the kept op with the largest keep probability 1 − p (the op the posterior trusts
most among those the winning pattern used); ``none`` only when the pattern keeps no
other op on that edge (the edge then carried nothing, which is what ``none`` computes);
in a space without ``none`` such an edge takes its most-kept op. Spaces with a topology
(DARTS) apply their own ``argmax`` rule to these scores: edges with a kept op before
edges without one. The record also holds that cell's own held-out accuracy as a
one-op supernet (``best_cell_valid_acc``, BatchNorm on batch statistics as PT does, since
one-op cells are outside the training distribution).

Spaces with ``row_choices`` (NAS-Bench-1Shot1) need, per row, one op or a fixed number
of parents; ``plugins.pgnas.rows.row_scores`` turns the best pattern into scores whose
``space.argmax`` keeps each row's ``keep`` columns of largest keep probability, kept
columns first (op row: the most-kept kept op, else the most-kept op; inputs row: the
most-kept kept parents, filled up from the non-kept), so the cell is always valid and
maps to NB101 as any argmax does. ``best_cell_valid_acc`` scores that cell with 1 on its
kept columns; ``cell_rule: held_out`` is for one op per edge only.

An earlier adaptation drew one op per edge ∝ 1 − p and scored the one-hot cell; with
p ≈ 0.1 everywhere those draws were nearly uniform and scored far below the supernet
(digits, 10 epochs: best of 1,500 candidates 73.0 % against the supernet's 92.7 %), so
it was replaced. With gate patterns (and θ at 10× the search lr, p_init 0.5) the same run's
best pattern scores 74.9 % against the expected-weight supernet's 67.8 %; its cell alone
64.2 % (README, PGNAS paragraph).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from harness import NONE_OP, Architecture, Selection, SelectionContext, Selector, UserError
from plugins.pgnas.options import PosteriorOptions
from plugins.pgnas.rows import decided_weights

MIN_KEEP = 1e-12
"""Keep probabilities are floored here, so a saturated gate still has a (tiny) chance."""
KEPT_MARGIN = 1e3
"""Score gap that puts every kept op above ``none`` and ``none`` above every dropped op
(log keep probabilities are ≥ log MIN_KEEP ≈ −27.6)."""


def sample_keeps(keep: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` draws ``(count, units)`` of independent Bernoulli(``keep``) bits."""
    q = keep.detach().double().cpu().clamp(MIN_KEEP, 1.0)
    return (torch.rand(count, q.shape[0], generator=generator, dtype=torch.float64) < q).to(keep.dtype)


def sample_blocks(keep: torch.Tensor, blocks: Sequence[Sequence[int]], count: int,
                  generator: torch.Generator) -> torch.Tensor:
    """``count`` draws ``(count, units)`` of independent Bernoulli(``keep``) bits, each block keeping ≥ 1.

    Exact conditional sampling, unit by unit: while none of a block's units is kept yet,
    unit i is kept with probability q_i / (1 − Π_{j ≥ i} (1 − q_j)); once one is kept, the
    rest are free. The last unit of a still-empty block is therefore always kept.
    """
    q = keep.detach().double().cpu().clamp(MIN_KEEP, 1.0)
    bits = sample_keeps(keep, count, generator)
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


def cell_scores(kept: torch.Tensor, keep: torch.Tensor, op_names: Sequence[str]) -> torch.Tensor:
    """Scores ``(..., edges, ops)`` whose per-edge argmax is the cell rule (module docstring) for gate
    patterns ``kept`` (1 = kept) given keep probabilities ``keep`` ``(edges, ops)`` (0 = no gate)."""
    log_keep = keep.double().clamp_min(MIN_KEEP).log()
    scores = torch.where(kept > 0, log_keep, log_keep - KEPT_MARGIN)
    scores = torch.where(keep > 0, scores, torch.full_like(scores, float("-inf")))
    if NONE_OP in op_names:
        scores[..., op_names.index(NONE_OP)] = -KEPT_MARGIN / 2
    return scores.to(keep.dtype)


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
    validation half), ``bn_train`` (False: BatchNorm on the running statistics of
    supernet training, the paper's regime, right for candidates drawn from the training
    distribution; True: batch statistics), ``cell_rule`` (how the best gate pattern becomes
    a cell in a cell space: ``keep_probability``, the default, is the module docstring's
    rule; ``held_out`` goes edge by edge and keeps the kept op whose pattern, with only it
    on that edge, scores best on the validation half — about one evaluation per kept op,
    for spaces without a topology).

    PGNAS's optimizer hands over gate patterns and their cell scores
    (``sample_candidates``); each pattern is scored as it is and the best one's cell
    (``space.argmax`` of its scores) is the result. Any other optimizer's draws
    (``sample_logits``) are discretized by ``space.argmax`` and scored as one-hot cells.
    Identical patterns are scored once. ``details`` holds the best held-out accuracy
    among the first c candidates for c = 1, 2, 5, 10, …, C (Table 6), the best
    candidate's parameter count, where the best pattern is not its one-hot cell the
    cell's own held-out accuracy (``best_cell_valid_acc``) and the candidates' mean kept
    ops per edge (``kept_ops_per_edge``), and, where the space reports them, its dropped
    channel and branch fractions (Table 7). The trajectory has one row per candidate; the
    cheap benchmarks are queried only when the best changes.
    """

    name = "posterior"
    Options = PosteriorOptions
    options: PosteriorOptions

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.candidates = self.options.candidates
        self.eval_batches = self.options.eval_batches
        self.bn_train = self.options.bn_train
        self.cell_rule = self.options.cell_rule

    def select(self, ctx: SelectionContext) -> Selection:
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(int(ctx.rng.integers(2 ** 62)))
        patterns, draws = self._draw(ctx, generator)
        scored: dict[bytes, float] = {}
        trajectory: list[dict[str, Any]] = []
        best: Architecture | None = None
        best_pattern, best_draw = patterns[0], draws[0]
        best_acc, best_number = float("-inf"), 0
        curve: dict[int, float] = {}
        points = set(curve_points(self.candidates))
        for number, (pattern, draw) in enumerate(zip(patterns, draws), start=1):
            arch = ctx.space.argmax(draw)
            key = pattern.to(torch.uint8).cpu().numpy().tobytes()
            if key not in scored:
                scored[key] = self._score(ctx, pattern, self.bn_train)
            row: dict[str, Any] = {"candidate": number, "arch": ctx.space.format(arch), "valid_acc": scored[key]}
            if scored[key] > best_acc:
                best, best_pattern, best_draw, best_acc, best_number = arch, pattern, draw, scored[key], number
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
        cell = self._cell_weights(ctx, best, best_draw)
        if not torch.equal(best_pattern.float().cpu(), cell):
            if self.cell_rule == "held_out":
                best, details["cell_rule_evaluations"] = self._held_out_cell(ctx, best_pattern)
                cell = self._one_hot(ctx, best)
                details["params"] = self._parameter_count(ctx, best)
            details["cell_rule"] = self.cell_rule
            details["best_cell_valid_acc"] = self._score(ctx, cell, bn_train=True)
            details["kept_ops_per_edge"] = float(patterns.sum(-1).mean())
        stats = getattr(ctx.space, "architecture_stats", None)
        if stats is not None:
            details.update(stats(best))
        details["selection_seconds"] = time.perf_counter() - started
        return Selection(best, details, trajectory)

    def _held_out_cell(self, ctx: SelectionContext, pattern: torch.Tensor) -> tuple[Architecture, int]:
        """``cell_rule: held_out``: edge by edge, keep only the kept op whose pattern (earlier edges already
        reduced) scores best on held-out data; an edge with no kept op takes ``none`` (the space's most-kept op
        where it has no ``none``). Ties go to the lower op index. Returns the cell and the evaluations spent."""
        space = ctx.space
        if space.row_choices() is not None:
            raise UserError(f"posterior cell_rule held_out needs one op per edge; the rows of {space.name} choose "
                            "ops and parent sets: use cell_rule keep_probability")
        if space.node_inputs is not None:
            raise UserError(f"posterior cell_rule held_out needs a space without a topology; {space.name} keeps "
                            "inputs_per_node edges per node: use cell_rule keep_probability")
        current = pattern.float().cpu().clone()
        evaluations = 0
        for edge in range(space.num_edges):
            kept = [op for op in current[edge].nonzero().flatten().tolist() if space.op_names[op] != NONE_OP]
            if len(kept) == 1:
                current[edge] = F.one_hot(torch.tensor(kept[0]), space.num_ops).float()
                continue
            if not kept:
                fallback = space.argmax(cell_scores(current, ctx.optimizer.mixing_weights(False).detach().cpu(),
                                                    space.op_names))
                current[edge] = F.one_hot(torch.tensor(fallback[edge]), space.num_ops).float()
                continue
            accuracies = []
            for op in kept:
                trial = current.clone()
                trial[edge] = F.one_hot(torch.tensor(op), space.num_ops).float()
                accuracies.append(self._score(ctx, trial, self.bn_train))
                evaluations += 1
            best_op = kept[max(range(len(kept)), key=lambda i: (accuracies[i], -i))]
            current[edge] = F.one_hot(torch.tensor(best_op), space.num_ops).float()
        return tuple(int(op) for op in current.argmax(-1).tolist()), evaluations

    def _draw(self, ctx: SelectionContext, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(mixing weights each candidate is scored with, scores whose argmax is its architecture)."""
        sample_candidates = getattr(ctx.optimizer, "sample_candidates", None)
        if sample_candidates is not None:
            return sample_candidates(self.candidates, generator)
        draws = ctx.optimizer.sample_logits(self.candidates, generator)
        return torch.stack([self._cell_weights(ctx, ctx.space.argmax(draw), draw) for draw in draws]), draws

    def _score(self, ctx: SelectionContext, weights: torch.Tensor, bn_train: bool) -> float:
        """Held-out accuracy of the supernet with deterministic gates ``weights`` ``(edges, ops)``."""
        accuracy, _ = ctx.trainer.evaluate("valid", weights=weights.float().to(ctx.run.device), bn_train=bn_train,
                                           max_batches=self.eval_batches)
        return accuracy

    @staticmethod
    def _one_hot(ctx: SelectionContext, arch: Architecture) -> torch.Tensor:
        return F.one_hot(torch.as_tensor(arch, dtype=torch.long), ctx.space.num_ops).float()

    @classmethod
    def _cell_weights(cls, ctx: SelectionContext, arch: Architecture, scores: torch.Tensor) -> torch.Tensor:
        """Supernet weights of ``arch`` = ``space.argmax(scores)``: its one-hot ops, or, in a space with
        ``row_choices`` (whose architecture holds choice indices, not columns), 1 on each row's kept columns."""
        rows = ctx.space.row_choices()
        if rows is None:
            return cls._one_hot(ctx, arch)
        return decided_weights(scores, rows)

    @staticmethod
    def _parameter_count(ctx: SelectionContext, arch: Architecture) -> int:
        network = ctx.space.build_network(arch, ctx.dataset, dict(ctx.run.config["space"]["options"]))
        return sum(p.numel() for p in network.parameters())

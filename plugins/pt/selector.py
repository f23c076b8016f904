"""Perturbation-based architecture selection (PT, Wang et al. 2021, darts-pt Algorithms 1–2).

Followed: ruocwang/darts-pt ``nasbench201/projection.py`` (``pt_project``) and
``nasbench201/train_search.py`` (the queues and ``infer``); on spaces of ``row_choices``
(NAS-Bench-1Shot1) ``sota/cnn/projection.py``, as ``plugins.pt.rows`` says.
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import torch

from harness import Architecture, RowChoice, SearchSpace, Selection, SelectionContext, Selector, UserError
from plugins.pt.options import PTOptions
from plugins.pt.rows import arch_of, column_names, keep_most_important, row_decisions
from plugins.pt.topology import Topology


def decision_epochs(decisions: int, interval: int, schedule: str = "reference") -> list[int]:
    """The tuning epoch (counted from the first decision) at which each of ``decisions`` is made.

    darts-pt tunes for ``proj_intv · (edges − 1)`` epochs and projects at the start of every
    epoch with ``epoch % proj_intv == 0 or epoch == tune_epochs − 1``: one epoch early for the
    last edge. Where that would coincide with the previous decision (``proj_intv`` ≤ 1, which
    in darts-pt silently skips an edge) the last decision keeps its even place.
    """
    even = [number * interval for number in range(decisions)]
    if schedule == "even" or decisions < 2 or even[-1] - 1 <= even[-2]:
        return even
    return [*even[:-1], even[-1] - 1]


class Projection:
    """The edges decided so far, applied to every op-weight tensor the trainer uses.

    Installed with ``trainer.projected``, so weight steps, architecture steps and
    evaluations all see the discretized supernet: a decided edge's row becomes one-hot
    on its op (a decided row of ``row_choices`` 1 on each kept column), a pruned edge's
    row zero; undecided rows pass through (with their gradient). Works for ``(E, O)`` and
    per-example ``(B, E, O)`` weights.
    """

    def __init__(self, num_edges: int, num_ops: int) -> None:
        self.num_edges = num_edges
        self.num_ops = num_ops
        self.ops: dict[int, int] = {}
        self.kept: dict[int, tuple[int, ...]] = {}
        self.pruned: set[int] = set()
        self._rows: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    def decide(self, edge: int, op: int) -> None:
        self.ops[edge] = op
        self._rows.clear()

    def keep(self, edge: int, columns: tuple[int, ...]) -> None:
        self.kept[edge] = columns
        self._rows.clear()

    def prune(self, edge: int) -> None:
        self.pruned.add(edge)
        self._rows.clear()

    def pruning(self, edge: int) -> Projection:
        """A copy with ``edge`` pruned as well: a decided edge's removal must go through the
        projection, which would otherwise restore its one-hot row."""
        trial = Projection(self.num_edges, self.num_ops)
        trial.ops, trial.kept, trial.pruned = dict(self.ops), dict(self.kept), self.pruned | {edge}
        return trial

    def _fixed_rows(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        key = (device, dtype)
        if key not in self._rows:
            fixed = torch.zeros(self.num_edges, 1, dtype=torch.bool)
            rows = torch.zeros(self.num_edges, self.num_ops, dtype=dtype)
            for edge, op in self.ops.items():
                fixed[edge] = True
                rows[edge, op] = 1.0
            for edge, columns in self.kept.items():
                fixed[edge] = True
                rows[edge, list(columns)] = 1.0
            for edge in self.pruned:
                fixed[edge] = True
                rows[edge] = 0.0
            self._rows[key] = (fixed.to(device), rows.to(device))
        return self._rows[key]

    def __call__(self, weights: torch.Tensor) -> torch.Tensor:
        if not self.ops and not self.kept and not self.pruned:
            return weights
        fixed, rows = self._fixed_rows(weights.device, weights.dtype)
        return torch.where(fixed, rows, weights)


class PTSelector(Selector):
    """Decide the supernet edge by edge, by how much removing each op hurts it (Algorithm 1).

    Edges are taken in a random order (``ctx.rng``). On each, every candidate op is
    masked out in turn (weight 0, the others keep theirs, decided edges one-hot) and the
    supernet's accuracy on the whole validation half is measured with BatchNorm on batch
    statistics — by default on the augmented validation stream (shuffled, search batch size,
    random crop and flip), as darts-pt's ``infer(valid_queue, ..., eval=False)`` reads its
    training-transform queue; the op whose removal hurts most (lowest accuracy, or highest
    loss) is kept and the edge discretized. Between decisions, weights *and* architecture
    are fine-tuned under the projection at ``tune_lr_scale × search.lr`` (the reference
    resets the weight optimizer to lr/10 with fresh momentum; the architecture optimizer
    keeps its state; here the weight optimizer's momentum is cleared), on the schedule of
    ``decision_epochs``: 5, 5, 5, 5, 4 epochs between NB201's six decisions. darts-pt then
    trains one last epoch after its final projection; that cannot change the selected
    architecture, so it is not run here.

    Spaces whose nodes keep fewer input edges than they have (DARTS: 2) define
    ``node_inputs: tuple[tuple[int, ...], ...]`` and ``inputs_per_node: int`` (see
    ``plugins.pt.topology``); then, after all ops, each such node (random order) keeps
    the inputs whose removal hurts most and the others are pruned (Algorithm 2).

    Spaces whose rows choose sets of columns (``one_op_per_edge`` False, NAS-Bench-1Shot1)
    declare ``row_choices()``; PT then decides every op row, then every inputs row, each
    keeping the columns whose removal hurts most (``plugins.pt.rows``).

    Options: ``proj_intv`` (tuning epochs between decisions, 5), ``criterion``
    (``"acc"`` | ``"loss"``), ``mode`` (``"perturbation"``, or ``"magnitude"``: pick by
    the largest logit — and keep the inputs of largest softmax weight — with the same
    progressive tuning, PT-Mag of §6.2), ``tune_lr_scale`` (0.1) and ``eval_batches``
    (cap on validation batches per measurement; default all), ``measure_on``
    (``"augmented"``, the reference, or ``"plain"``) and ``schedule`` (``"reference"`` or
    ``"even"``).
    """

    name = "pt"
    Options = PTOptions
    options: PTOptions

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.proj_intv = self.options.proj_intv
        self.criterion = self.options.criterion
        self.mode = self.options.mode
        self.tune_lr_scale = self.options.tune_lr_scale
        self.eval_batches = self.options.eval_batches
        self.augmented = self.options.measure_on == "augmented"

    def select(self, ctx: SelectionContext) -> Selection:
        started = time.perf_counter()
        space, trainer = ctx.space, ctx.trainer
        rows = space.row_choices()
        if rows is None and not space.one_op_per_edge:
            raise UserError(f"PT decides one op per edge or the rows a space declares with row_choices(); the rows "
                            f"of search space {space.name} are neither; use the argmax or proxy selector there")
        topology = None if rows is not None else Topology.of(space)
        candidates = choice_mask(space)
        decisions, edge_order, node_order = plan_decisions(space, rows, topology, ctx.rng)
        projection = Projection(space.num_edges, space.num_ops)
        kept: dict[int, tuple[int, ...]] = {}
        tune_lr = self.tune_lr_scale * float(trainer.search["lr"])
        schedule = decision_epochs(len(decisions), self.proj_intv, self.options.schedule)
        trajectory: list[dict[str, Any]] = []
        tuned_epochs = 0

        trainer.reset_weight_momentum()
        with trainer.projected(projection):
            for number, ((phase, index), due) in enumerate(zip(decisions, schedule), start=1):
                while tuned_epochs < due:
                    trainer.train_epoch(update_arch=True, lr=tune_lr)
                    tuned_epochs += 1
                before_acc, _ = self._measure(ctx, projection)
                if rows is not None:
                    row = self._decide_row(ctx, projection, index, rows[index])
                elif phase == "op":
                    row = self._decide_op(ctx, projection, index, list(space.edge_choices(index)))
                else:
                    assert topology is not None  # topology decisions are planned only when the space has one
                    row = self._decide_inputs(ctx, projection, topology, index, kept)
                after_acc, after_loss = self._measure(ctx, projection)
                arch = self._arch(ctx, projection, rows, topology, candidates, kept)
                trajectory.append({
                    "decision": number, "tune_epoch": tuned_epochs, "phase": phase, **row,
                    "supernet_acc_before": before_acc, "supernet_acc": after_acc, "supernet_loss": after_loss,
                    "arch": space.format(arch), "seconds": time.perf_counter() - started, **ctx.query(arch),
                })
                epochs = f"{tuned_epochs} tuning epoch" + ("" if tuned_epochs == 1 else "s")
                ctx.progress(number, len(decisions), f"{row['edge']}: {row['choice']} (supernet valid acc "
                                                     f"{after_acc:.2f} %, after {epochs})")

        final = self._arch(ctx, projection, rows, topology, candidates, kept)
        details = {
            "mode": self.mode, "criterion": self.criterion, "proj_intv": self.proj_intv, "tune_lr": tune_lr,
            "tune_epochs": tuned_epochs, "decisions": len(decisions), "eval_batches": self.eval_batches,
            "schedule": self.options.schedule, "decision_epochs": schedule, "measure_on": self.options.measure_on,
            "edge_order": edge_order, "node_order": node_order,
            "final_supernet_acc": trajectory[-1]["supernet_acc"] if trajectory else None,
            "selection_seconds": time.perf_counter() - started,
        }
        return Selection(final, details, trajectory)

    def _measure(self, ctx: SelectionContext, projection: Projection,
                 weights: torch.Tensor | None = None) -> tuple[float, float]:
        """Supernet (accuracy %, loss) on the validation half under ``projection``, BatchNorm
        on batch statistics (the reference evaluates in train mode), augmented unless ``plain``."""
        with ctx.trainer.projected(projection):
            return ctx.trainer.evaluate("valid", weights=weights, bn_train=True, max_batches=self.eval_batches,
                                        augmented=self.augmented)

    def _importance(self, acc: float, loss: float) -> float:
        """How much a removal hurts: the lower the accuracy (or the higher the loss), the more."""
        return -acc if self.criterion == "acc" else loss

    def _rank_columns(self, ctx: SelectionContext, projection: Projection, edge: int,
                      names: dict[int, str]) -> tuple[dict[int, float], dict[str, float], dict[str, float]]:
        """Each column's importance on the undecided row ``edge`` (the harm its removal does, or its logit
        in magnitude mode), and the masked supernets' accuracies and losses by column name."""
        accs: dict[str, float] = {}
        losses: dict[str, float] = {}
        if self.mode == "magnitude":
            logits = ctx.optimizer.logits().detach()
            return {column: float(logits[edge, column]) for column in names}, accs, losses
        base = projection(ctx.optimizer.mixing_weights(training=False).detach())
        importance = {}
        for column, name in names.items():
            masked = base.clone()
            masked[..., edge, column] = 0.0
            acc, loss = self._measure(ctx, projection, masked)
            accs[name], losses[name] = acc, loss
            importance[column] = self._importance(acc, loss)
        return importance, accs, losses

    def _decide_op(self, ctx: SelectionContext, projection: Projection, edge: int,
                   candidates: list[int]) -> dict[str, Any]:
        op_names = ctx.space.op_names
        importance, accs, losses = self._rank_columns(ctx, projection, edge, {op: op_names[op] for op in candidates})
        choice = max(candidates, key=lambda op: importance[op])
        projection.decide(edge, choice)
        return {"edge": ctx.space.edge_names[edge], "choice": op_names[choice],
                "masked_acc": json.dumps(accs), "masked_loss": json.dumps(losses)}

    def _decide_row(self, ctx: SelectionContext, projection: Projection, row: int,
                    choice: RowChoice) -> dict[str, Any]:
        names = column_names(ctx.space, choice)
        importance, accs, losses = self._rank_columns(ctx, projection, row, names)
        kept = keep_most_important(choice, importance)
        projection.keep(row, kept)
        return {"edge": ctx.space.edge_names[row], "choice": ",".join(names[column] for column in kept),
                "masked_acc": json.dumps(accs), "masked_loss": json.dumps(losses)}

    @staticmethod
    def _arch(ctx: SelectionContext, projection: Projection, rows: tuple[RowChoice, ...] | None,
              topology: Topology | None, candidates: torch.Tensor, kept: dict[int, tuple[int, ...]]) -> Architecture:
        if rows is not None:
            return arch_of(ctx.space, ctx.optimizer.logits(), rows, projection.kept)
        return _arch_so_far(ctx, projection, topology, candidates, kept)

    def _decide_inputs(self, ctx: SelectionContext, projection: Projection, topology: Topology, node: int,
                       kept: dict[int, tuple[int, ...]]) -> dict[str, Any]:
        edge_names = ctx.space.edge_names
        inputs = topology.node_inputs[node]
        accs: dict[str, float] = {}
        losses: dict[str, float] = {}
        if self.mode == "magnitude":
            importance = _edge_strength(ctx, projection, choice_mask(ctx.space))
        else:
            importance = {}
            for edge in inputs:
                acc, loss = self._measure(ctx, projection.pruning(edge))
                accs[edge_names[edge]], losses[edge_names[edge]] = acc, loss
                importance[edge] = self._importance(acc, loss)
        kept[node] = topology.keep(node, importance)
        for edge in inputs:
            if edge not in kept[node]:
                projection.prune(edge)
        return {"edge": f"node {node}", "choice": ",".join(edge_names[edge] for edge in kept[node]),
                "masked_acc": json.dumps(accs), "masked_loss": json.dumps(losses)}


def plan_decisions(space: SearchSpace, rows: tuple[RowChoice, ...] | None, topology: Topology | None,
                   rng: np.random.Generator) -> tuple[list[tuple[str, int]], list[str], list[Any]]:
    """The decisions in order — ``("op", edge or row)``, then ``("topology", node or row)`` —, the op
    edges' names in order, and the nodes in order (their rows' names in a space of ``row_choices``)."""
    if rows is not None:
        decisions = row_decisions(rows, rng)
        return (decisions, [space.edge_names[row] for phase, row in decisions if phase == "op"],
                [space.edge_names[row] for phase, row in decisions if phase == "topology"])
    edges = [int(edge) for edge in rng.permutation(space.num_edges)]
    nodes = [int(node) for node in rng.permutation(topology.nodes_to_decide())] if topology else []
    return ([("op", edge) for edge in edges] + [("topology", node) for node in nodes],
            [space.edge_names[edge] for edge in edges], nodes)


def choice_mask(space: SearchSpace) -> torch.Tensor:
    """``(edges, ops)``: 0 where PT may choose the op for the edge (``space.edge_choices``), -inf elsewhere."""
    mask = torch.full((space.num_edges, space.num_ops), float("-inf"))
    for edge in range(space.num_edges):
        mask[edge, list(space.edge_choices(edge))] = 0.0
    return mask


def _current_ops(ctx: SelectionContext, projection: Projection, candidates: torch.Tensor) -> list[int]:
    """Decided ops, and for undecided edges the choosable op with the largest logit."""
    logits = ctx.optimizer.logits().detach().float()
    best = (logits + candidates.to(logits.device)).argmax(dim=-1).tolist()
    return [projection.ops.get(edge, int(best[edge])) for edge in range(ctx.space.num_edges)]


def _edge_strength(ctx: SelectionContext, projection: Projection, candidates: torch.Tensor) -> dict[int, float]:
    """Softmax weight (over the edge's candidate ops) of each edge's current op: DARTS' measure for ranking
    a node's inputs."""
    logits = ctx.optimizer.logits().detach().float()
    mask = ctx.space.logit_mask(logits.device)
    probabilities = torch.softmax(logits if mask is None else logits + mask, dim=-1)
    ops = _current_ops(ctx, projection, candidates)
    return {edge: float(probabilities[edge, op]) for edge, op in enumerate(ops)}


def _arch_so_far(ctx: SelectionContext, projection: Projection, topology: Topology | None,
                 candidates: torch.Tensor, kept: dict[int, tuple[int, ...]]) -> Architecture:
    """Decided edges as decided; the rest (and undecided nodes' inputs) by magnitude."""
    ops = _current_ops(ctx, projection, candidates)
    if topology is None:
        return tuple(ops)
    return topology.complete(ops, kept, _edge_strength(ctx, projection, candidates))


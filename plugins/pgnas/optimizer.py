"""The PGNAS architecture optimizer: learned concrete-dropout gates, trained with the weights.

Single-level (Algorithm 1 lines 1–6): the drop logits join the weight optimizer's SGD
(no weight decay) and the KL of Eq. 15 is added to the training loss, so one SGD step
on the training batch updates weights and drop probabilities together. The harness's
own weight decay must be 0 for this (the PGNAS methods set ``search.weight_decay: 0``):
the KL's weight term *is* the weight prior.

Gate layouts (see ``concrete.GateLayout``):

- cell spaces (NB201): one gate group per edge-op other than ``none``, shared by every
  cell (the supernet's mixing weights are shared), K = 1 gate; its kernels are that
  op's conv weights in all cells.
- spaces with ``row_choices`` (NAS-Bench-1Shot1; an adaptation, see ``plugins.pgnas.rows``):
  one gate group per real column of every row, shared by every cell, K = 1: on an op
  row one per op, on an inputs row one per parent edge. An op gate governs that op's
  conv-BN in every cell; the edge from the cell input governs the node's (or the
  output's) 1×1 input projection; edges from earlier nodes govern no kernel of their
  own (what they carry is the parent's, governed by the parent's gates), so, as for
  parameter-free ops on NB201, only the likelihood and the entropy term move their p.
- binary spaces (ops ``drop``/``keep``): one gate per edge on the ``keep`` op, grouped
  by the space's ``gate_groups`` (e.g. ``pgnas-resnet``: the input channels of one
  branch conv share one p, K = their number), rows ``[1 − z, z]``.

The kernels a group governs are found from the supernet itself: a parameter belongs
to a group when its gradient vanishes exactly once that group's gates are closed (and
not otherwise); where gates nest (closing the output's edge from the last node silences
that node's op kernels too), the innermost gate owns them. Weights no gate governs get
Eq. 15's prior with p = 0.

Gates are sampled per example (a ``(batch, edges, ops)`` weight tensor, as dropout
does), for the trainer's batch size min(search.batch_size, search-train size); with
``per_example: false`` one mask is shared by the whole batch.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from harness import NONE_OP, ArchOptimizer, RunContext, SearchSpace, Supernet, UserError, to_float
from plugins.pgnas.concrete import (
    GateGroup,
    GateLayout,
    drop_logit,
    kl_regularizer,
    prior_regularizer,
    relaxed_keep_mask,
)
from plugins.pgnas.options import PgnasOptions
from plugins.pgnas.posterior import cell_scores, sample_blocks, sample_keeps
from plugins.pgnas.rows import row_scores

BINARY_OPS = ("drop", "keep")
PROBE_EXAMPLES = 2
NOISE_SEED_OFFSET = 1_000_003
"""The gate noise has its own generator (resumable), seeded apart from the batch streams."""


def gate_layout(space: SearchSpace) -> GateLayout:
    """One gate group per edge and candidate op other than ``none`` in cell spaces (``none`` outputs zero
    whether kept or not, so a gate there would only learn the prior); one per real column of every row in
    spaces with ``row_choices`` (``plugins.pgnas.rows``: named ``row:op`` on op rows, ``row:parent`` on
    inputs rows); the space's ``gate_groups`` (or one per edge) in binary ones."""
    if tuple(space.op_names) == BINARY_OPS:
        keep, drop = BINARY_OPS.index("keep"), BINARY_OPS.index("drop")
        groups = getattr(space, "gate_groups", None) or [
            GateGroup(name, ((edge, keep),)) for edge, name in enumerate(space.edge_names)]
        return GateLayout(groups, space.num_edges, space.num_ops, complement_op=drop)
    rows = space.row_choices()
    if rows is not None:
        return GateLayout([GateGroup(f"{space.edge_names[edge]}:"
                                     f"{space.op_names[column] if row.decides == 'op' else column}", ((edge, column),))
                           for edge, row in enumerate(rows) for column in row.columns],
                          space.num_edges, space.num_ops)
    groups = [GateGroup(f"{edge_name}:{space.op_names[op]}", ((edge, op),))
              for edge, edge_name in enumerate(space.edge_names) for op in space.candidate_ops(edge)
              if space.op_names[op] != NONE_OP]
    return GateLayout(groups, space.num_edges, space.num_ops)


def _reached(supernet: nn.Module, example: torch.Tensor, weights: torch.Tensor,
             params: Sequence[torch.Tensor]) -> list[bool]:
    """Which parameters get a non-zero gradient through the supernet with these mixing weights."""
    output = supernet(example, weights)
    grads = torch.autograd.grad(output.float().square().sum(), params, allow_unused=True)
    return [g is not None and bool(torch.any(g != 0)) for g in grads]


def find_gated_kernels(supernet: nn.Module, layout: GateLayout,
                       example: torch.Tensor) -> tuple[list[list[torch.Tensor]], list[torch.Tensor]]:
    """(kernels of each gate group, parameters no gate governs), probed on ``example`` inputs.

    Closing a group (its gates 0) zeroes the output of what it governs, so exactly those
    parameters lose their gradient. BatchNorm runs on batch statistics, so that no channel's
    ReLU is dead for the whole probe by chance (with running statistics at their initial
    0/1 a small supernet's activations can be all negative, and closing one gate then
    silences unrelated kernels); its running statistics are restored afterwards, so the
    probe leaves the supernet unchanged. Where gates are nested (NB1Shot1: closing the
    output's edge from the last node also silences that node's op kernels, which its op
    gates silence alone), a parameter belongs to the innermost group, the one whose
    silenced set lies inside every other that contains it; without one, a UserError.
    """
    params: list[torch.Tensor] = [p for p in supernet.parameters() if p.requires_grad]
    device = example.device
    open_all = torch.ones(layout.num_units, device=device)
    was_training = supernet.training
    saved = {k: v.clone() for k, v in supernet.state_dict().items() if "running" in k or "num_batches" in k}
    supernet.train()
    try:
        reached = _reached(supernet, example, layout.weights(open_all), params)
        silenced: list[frozenset[int]] = []
        for g in range(len(layout.groups)):
            closed = _reached(supernet, example, layout.weights(open_all.masked_fill(layout.unit_group == g, 0.0)),
                              params)
            silenced.append(frozenset(i for i, (before, after) in enumerate(zip(reached, closed))
                                      if before and not after))
    finally:
        supernet.load_state_dict(saved, strict=False)
        supernet.train(was_training)
    owners: list[int | None] = []
    for i, param in enumerate(params):
        holders = [g for g, members in enumerate(silenced) if i in members]
        inner = [g for g in holders if all(silenced[g] <= silenced[h] for h in holders)]
        if holders and not inner:
            names = ", ".join(layout.groups[g].name for g in holders)
            raise UserError(f"a supernet parameter of shape {tuple(param.shape)} is silenced by gate groups {names}, "
                            "none inside the others; PGNAS needs every kernel under one innermost gate group")
        owners.append(inner[0] if inner else None)
    kernels = [[p for p, owner in zip(params, owners) if owner == g] for g in range(len(layout.groups))]
    return kernels, [p for p, owner in zip(params, owners) if owner is None]


class PgnasOptimizer(ArchOptimizer):
    """Concrete-dropout gates with learned drop probabilities p = σ(θ) (PGNAS Eq. 13–16).

    Options: ``temperature`` τ (0.2, Table 5's best), ``p_init`` (0.5, the reference
    code's initialization in ``Tensorflow-backbone-cifar/.../src/common_ops.py``; the
    ``pgnas-resnet`` method keeps 0.1), ``lr_scale`` (10, see below; ``pgnas-resnet``: 1),
    ``learn`` (False freezes p at ``p_init``: Table 3's "Random" predefined dropout), ``length_scale`` l
    of the weight prior (None: l² = prior_weight_decay · N / (1 − p_init), so that the
    weight term acts like weight decay ``prior_weight_decay`` (3e-4) at initialization —
    the paper picks l² by grid search into "a commonly used weight decay range",
    Table 4), ``data_size`` N (None: the search-train half's size), ``per_example``
    (True), ``channel_gates`` (per-input-channel gates inside a cell space's convs: not
    implemented).

    Why ``lr_scale`` = 10: θ trains in its own param group at ``lr_scale`` × search.lr
    (same cosine schedule). The paper trains p for 1,800 epochs at lr 0.01, an integrated
    learning rate Σ_steps lr of order 10⁴; our protocols run 10–50 epochs: digits 10 × 12
    steps at a mean cosine lr of 0.013 (≈ 1.6), the CIFAR-10 CPU protocol 50 × 200 steps
    (≈ 130). At the search lr (scale 1) p barely moves (digits, 10 epochs: p_init 0.1 →
    0.079–0.100; p_init 0.5 → 0.47–0.51). Large scales move p fast but kill gates: early
    on, while the head is still random, dropping everything lowers the loss, and a gate
    pushed to p ≈ 1 gets no gradient back (z ≈ 0 for every noise draw). On the signal toy
    (tests/signal_space.py, lr 0.025, 40 epochs × 8 steps, seeds 0–2) scale 10 keeps the
    signal op and drops the noise op on both edges in 3/3 seeds, 30 in 2/3, 100 in 1/3 (the
    others drop the signal op too and never revive it). So 10: the largest scale that was
    safe there, an integrated θ learning rate of ≈ 1.3·10³ on the CIFAR-10 protocol, at a
    per-step θ lr (0.25) already 25× the paper's. Digits' 10-epoch budget is short for it
    (p 0.19–0.58 after the default run; scale 100 gives 0.0015–0.998 there, at the risk
    above). The prior's weight is left as the paper defines it: ``data_size`` N scales the
    whole KL (the paper uses N = 5·10⁵; ours is the search-train size, a stronger prior,
    still small against the likelihood), ``prior_weight_decay``/``length_scale`` its weight
    term.

    ``mixing_weights(True)`` samples relaxed keep masks; ``mixing_weights(False)`` is the
    expected keep probability 1 − p; ``logits()`` the log keep-probability (the
    complement op of binary spaces gets log p, ungated ``none`` −inf), so the argmax
    keeps the most-kept op; ``sample_candidates`` draws independent Bernoulli gate
    patterns and their cells (see ``posterior``).
    """

    bilevel = False
    name = "pgnas"
    Options = PgnasOptions
    options: PgnasOptions

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        if self.options.channel_gates:
            raise UserError("pgnas option channel_gates (per-input-channel gates inside a cell space's convs) is not "
                            "implemented; leave it false, or use the pgnas-resnet space, whose gates are per channel")
        self.temperature = self.options.temperature
        self.p_init = self.options.p_init
        self.learn = self.options.learn
        self.per_example = self.options.per_example

    def attach(self, space: SearchSpace, supernet: Supernet, run: RunContext) -> None:
        self.rows = space.row_choices()
        if not space.one_op_per_edge and self.rows is None:
            raise UserError(f"PGNAS gates single columns, but search space {space.name} has neither one op per edge "
                            "nor row_choices() saying what its rows decide")
        self.layout = gate_layout(space).to(run.device)
        self.binary = self.layout.complement_op is not None
        self.blocks: list[list[int]] = []
        if self.binary:
            unit_of_edge = {edge: unit for unit, edge in enumerate(self.layout.unit_edge.tolist())}
            self.blocks = [[unit_of_edge[edge] for edge in block] for block in getattr(space, "edge_blocks", ())]
        self.op_names = tuple(space.op_names)
        theta = torch.full((len(self.layout.groups),), drop_logit(self.p_init), device=run.device)
        self.theta = theta.requires_grad_(self.learn)
        self.data_size = self.options.data_size or len(run.data.train)
        if self.options.length_scale is not None:
            self.length_scale_sq = self.options.length_scale ** 2
        else:
            self.length_scale_sq = self.options.prior_weight_decay * self.data_size / (1.0 - self.p_init)
        example = to_float(run.data.train.images[:PROBE_EXAMPLES], run.dataset)
        self.kernels, self.ungated = find_gated_kernels(supernet, self.layout, example)
        name_of = {id(p): name for name, p in supernet.named_parameters()}
        self.kernel_names = [[name_of[id(p)] for p in group] for group in self.kernels]
        self.ungated_names = [name_of[id(p)] for p in self.ungated]
        self.batch_size = min(int(run.search["batch_size"]), len(run.data.train))
        self.generator = torch.Generator(device=run.device).manual_seed(run.seed + NOISE_SEED_OFFSET)

    def drop_probabilities(self) -> torch.Tensor:
        """p per gate group ``(groups,)``."""
        return torch.sigmoid(self.theta)

    def mixing_weights(self, training: bool) -> torch.Tensor:
        unit_theta = self.theta[self.layout.unit_group]
        if not training:
            return self.layout.weights(1.0 - torch.sigmoid(unit_theta))
        shape = (self.batch_size,) if self.per_example else ()
        return self.layout.weights(relaxed_keep_mask(unit_theta, self.temperature, shape, self.generator))

    def logits(self) -> torch.Tensor:
        unit_theta = self.theta.detach()[self.layout.unit_group]
        return self.layout.scores(torch.nn.functional.logsigmoid(-unit_theta),
                                  torch.nn.functional.logsigmoid(unit_theta))

    def sample_candidates(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` candidates drawn from the learned gates: (gate patterns as mixing weights, scores whose
        ``space.argmax`` is each candidate's architecture), both ``(count, edges, ops)``.

        Every gate is an independent Bernoulli(1 − p) keep (Algorithm 1 line 7); binary spaces
        condition each block on keeping one edge, cell spaces map a pattern to a cell with
        ``posterior.cell_scores``.
        """
        keep = 1.0 - self.drop_probabilities().detach()[self.layout.unit_group]
        if self.binary:
            patterns = self.layout.weights(sample_blocks(keep, self.blocks, count, generator).to(keep.device))
            return patterns, patterns
        patterns = self.layout.weights(sample_keeps(keep, count, generator).to(keep.device))
        if self.rows is not None:
            return patterns, row_scores(patterns, self.layout.weights(keep), self.rows)
        return patterns, cell_scores(patterns, self.layout.weights(keep), self.op_names)

    def sample_logits(self, count: int, generator: torch.Generator) -> torch.Tensor:
        return self.sample_candidates(count, generator)[1]

    def parameters(self) -> list[torch.Tensor]:
        return [self.theta] if self.learn else []

    def lr_scale(self) -> float:
        return self.options.lr_scale

    def stackable(self) -> bool:
        return True

    def regularizer(self, weights: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        kernels, ungated = self.kernels, self.ungated
        if weights is not None:
            kernels = [[weights[name] for name in group] for group in self.kernel_names]
            ungated = [weights[name] for name in self.ungated_names]
        kl = kl_regularizer(self.drop_probabilities(), kernels, self.layout.units, self.length_scale_sq, self.data_size)
        prior = prior_regularizer(ungated, self.length_scale_sq, self.data_size)
        return kl if prior is None else kl + prior

    def summary(self) -> dict[str, float]:
        p = self.drop_probabilities().detach().cpu()
        stats = {"p_mean": float(p.mean()), "p_min": float(p.min()), "p_max": float(p.max()),
                 "p_std": float(p.std()) if p.numel() > 1 else 0.0,
                 "dropped_groups": float((p > 0.5).float().mean())}
        if self.binary:
            stats.update({f"p/{group.name}": float(value) for group, value in zip(self.layout.groups, p)})
        else:
            group_op = self.layout.unit_op.cpu()  # one unit per group in cell spaces
            on_op_row = torch.ones_like(group_op, dtype=torch.bool)
            if self.rows is not None:
                on_op_row = torch.tensor([self.rows[edge].decides == "op" for edge in self.layout.unit_edge.tolist()])
                if bool((~on_op_row).any()):
                    stats["p/inputs"] = float(p[~on_op_row].mean())
            stats.update({f"p/{name}": float(p[on_op_row & (group_op == op)].mean())
                          for op, name in enumerate(self.op_names) if bool((on_op_row & (group_op == op)).any())})
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta.detach().cpu(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.theta.copy_(state["theta"].to(self.theta.device))
        self.generator.set_state(state["generator"])

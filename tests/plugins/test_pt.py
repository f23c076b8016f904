"""PT (perturbation-based selection) on constructed supernets whose right answer is known.

The chain supernet: x → edge "1<-0" → h → edge "2<-1" → z → a linear head reading
feature 0, label = [x₀ > 0]. Ops on every edge: ``noise`` (N(0, 1), ignores its input),
``scale`` (×10, carries the signal) and ``zero``. The logits put a large α on ``noise`` on
the first edge, so argmax picks noise there; masking ``scale`` leaves only noise (chance
accuracy), so PT keeps ``scale`` on both edges.
"""
from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
import torch
from torch import nn

import plugins.pt
from harness import (
    ArchOptimizer,
    DatasetInfo,
    ImageSet,
    Method,
    RunContext,
    SearchData,
    SearchSpace,
    SelectionContext,
    Supernet,
    Trainer,
    UserError,
)
from harness.experiment.config import DEFAULTS, merge
from harness.plugin.manager import load_plugins
from plugins.pt.selector import Projection, PTSelector, decision_epochs
from plugins.pt.topology import Topology

NOISE, SCALE = 0, 1  # chain ops; the fan-in space has none = 0, scale = 1 (= SCALE), noise = 2
NONE = 0
CHAIN_LOGITS = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]


def _mix(inputs: torch.Tensor, weights: torch.Tensor, ops: list[torch.Tensor]) -> torch.Tensor:
    """Σ_o w_o · op_o(inputs) for (O,) or per-example (B, O) weights."""
    return (torch.stack(ops, dim=-1) * weights.unsqueeze(-2)).sum(-1)


class ChainSupernet(Supernet):
    def __init__(self, head_scale: float = 0.1) -> None:
        super().__init__()
        self.head = nn.Linear(4, 2)
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.weight[0, 0], self.head.weight[1, 0] = -head_scale, head_scale
            self.head.bias.zero_()
        self.seen: list[torch.Tensor] = []
        self.calls: list[tuple[int, bool]] = []
        self.inputs: list[torch.Tensor] = []
        self.measured: list[torch.Tensor] = []  # inputs of evaluations (grad off)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        self.seen.append(weights.detach().clone())
        self.calls.append((int(x.shape[0]), self.training))
        self.inputs.append(x.detach().clone())
        if not torch.is_grad_enabled():
            self.measured.append(x.detach().clone())
        h = x.flatten(1)
        for edge in range(2):
            h = _mix(h, weights[..., edge, :], [torch.randn_like(h), 10.0 * h, torch.zeros_like(h)])
        return self.head(h)


class ChainSpace(SearchSpace):
    name = "chain"
    channels = 4
    op_names = ("noise", "scale", "zero")
    edge_names = ("1<-0", "2<-1")

    def build_supernet(self, dataset, options):
        return ChainSupernet()

    def build_network(self, arch, dataset, options):
        raise NotImplementedError("the test space has no stand-alone network")

    def parse(self, text):
        return tuple(self.op_names.index(name) for name in text.split("|"))

    def format(self, arch):
        return "|".join(self.op_names[op] for op in arch)


class FanInSupernet(Supernet):
    """Inputs c₀, c₁, c₂ (or more) each feed the output node through one edge; ops none, scale, noise."""

    def __init__(self, edges: int = 3) -> None:
        super().__init__()
        self.edges = edges
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.1], [0.1]]))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        channels = x.flatten(1)
        out = sum(_mix(channels[:, k:k + 1], weights[..., k, :],
                       [torch.zeros_like(channels[:, k:k + 1]), 10.0 * channels[:, k:k + 1],
                        torch.randn_like(channels[:, k:k + 1])]) for k in range(self.edges))
        return self.head(out)


class FanInSpace(ChainSpace):
    """A node with three inputs that keeps two: label = [c₀ + c₁ > 0], c₂ is a distractor."""

    name = "fan-in"
    channels = 3
    op_names = ("none", "scale", "noise")
    edge_names = ("3<-0", "3<-1", "3<-2")
    node_inputs = ((0, 1, 2),)
    inputs_per_node = 2

    def build_supernet(self, dataset, options):
        return FanInSupernet()


class FixedLogits(ArchOptimizer):
    """Logits that never change; ``bilevel`` runs a (no-op) architecture step that records
    the op weights the supernet sees, to check that tuning's architecture steps see PT's projection."""

    def __init__(self, logits: list[list[float]], bilevel: bool = False) -> None:
        super().__init__({})
        self.alpha = torch.tensor(logits)
        self.bilevel = bilevel
        self.step_weights: list[torch.Tensor] = []

    def attach(self, space, supernet, run):
        self.supernet = supernet

    def mixing_weights(self, training):
        return torch.softmax(self.alpha, dim=-1)

    def logits(self):
        return self.alpha

    def step(self, step):
        step.loss(step.val_batch, self.mixing_weights(training=True))
        self.step_weights.append(self.supernet.seen[-1])

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        return None


def chain_data(n: int, seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 4, 1, 1, generator=generator)
    return ImageSet(images, (images[:, 0, 0, 0] > 0.5).long())


def fan_in_data(n: int, seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 1, 1, generator=generator)
    return ImageSet(images, (images[:, 0, 0, 0] + images[:, 1, 0, 0] > 1.0).long())


def make_context(tmp_path, space: SearchSpace, make_data, logits, bilevel: bool = False,
                 options: dict | None = None, seed: int = 0) -> tuple[SelectionContext, PTSelector]:
    torch.manual_seed(seed)
    info = DatasetInfo("toy", num_classes=2, channels=space.channels, image_size=1,
                       mean=(0.5,) * space.channels, std=(0.5,) * space.channels)
    config = merge(DEFAULTS, {"search": {"epochs": 3, "batch_size": 64, "eval_batch_size": 256,
                                         "max_steps_per_epoch": 2}})
    data = SearchData.split(info, make_data(512, seed), make_data(64, seed + 1), seed, torch.device("cpu"))
    run = RunContext(config, Method("test", "fixed-logits", "pt"), space, info, data, torch.device("cpu"),
                     seed, tmp_path, None)
    supernet = space.build_supernet(info, {})
    optimizer = FixedLogits(logits, bilevel)
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)

    def query(arch):
        return {"toy/scale_edges": float(space.count_op(arch, "scale"))}

    ctx = SelectionContext(run, space, info, supernet, optimizer, data, trainer, query, np.random.default_rng(seed))
    return ctx, PTSelector({"proj_intv": 1, **(options or {})})


def test_pt_keeps_the_signal_op_where_argmax_picks_the_noise_op(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS)
    assert ctx.space.argmax(ctx.optimizer.logits()) == (NOISE, SCALE)

    selection = selector.select(ctx)

    assert selection.arch == (SCALE, SCALE)
    assert ctx.trainer.weight_transform is None
    for row in selection.trajectory:
        masked = json.loads(row["masked_acc"])
        assert set(masked) == {"noise", "scale", "zero"}
        assert min(masked, key=masked.get) == row["choice"] == "scale"
        assert masked["scale"] < 60.0 < masked["noise"]
    assert selection.trajectory[-1]["supernet_acc"] > 95.0


def test_every_measurement_covers_the_validation_half_and_nothing_else(tmp_path):
    """With plain measurements; the augmented stream's provenance is tested above."""
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS,
                                 options={"proj_intv": 0, "measure_on": "plain"})
    selector.select(ctx)

    def rows(images):
        return {tuple(row) for row in images.flatten(1).tolist()}

    valid = ctx.data.valid
    expected = rows((valid.images - 0.5) / 0.5)  # what the trainer feeds: normalized with mean = std = 0.5
    assert rows(ctx.data.train.images).isdisjoint(rows(valid.images))
    seen = ctx.supernet.measured
    # per decision: before, each of the 3 masks, after; each measurement is one pass (eval batch 256 = the half)
    assert len(seen) == 2 * (1 + 3 + 1) and all(len(x) == len(valid) for x in seen)
    assert all(rows(x) == expected for x in seen)


def test_trajectory_rows_and_details(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS)
    selection = selector.select(ctx)

    rows = selection.trajectory
    assert [row["decision"] for row in rows] == [1, 2]
    assert [row["edge"] for row in rows] == selection.details["edge_order"]
    assert sorted(selection.details["edge_order"]) == ["1<-0", "2<-1"]
    first = ctx.space.edge_names.index(rows[0]["edge"])
    undecided = 1 - first
    expected_so_far = [SCALE, SCALE]
    expected_so_far[undecided] = int(np.argmax(CHAIN_LOGITS[undecided]))
    assert rows[0]["arch"] == ctx.space.format(tuple(expected_so_far))
    assert rows[0]["toy/scale_edges"] == expected_so_far.count(SCALE)
    assert rows[1]["arch"] == "scale|scale" and rows[1]["toy/scale_edges"] == 2.0
    assert all({"supernet_acc_before", "supernet_acc", "supernet_loss", "seconds"} <= set(row) for row in rows)
    assert selection.details["tune_epochs"] == 1
    assert selection.details["tune_lr"] == pytest.approx(0.1 * 0.025)
    assert selection.details["selection_seconds"] >= rows[-1]["seconds"] > 0
    settings = {key: value for key, value in selection.details.items()
                if key not in ("edge_order", "tune_lr", "selection_seconds")}
    assert settings == {"mode": "perturbation", "criterion": "acc", "proj_intv": 1, "tune_epochs": 1, "decisions": 2,
                        "eval_batches": None, "schedule": "reference", "decision_epochs": [0, 1],
                        "measure_on": "augmented", "node_order": [], "final_supernet_acc": rows[-1]["supernet_acc"]}


def test_tuning_steps_weights_and_architecture_under_the_projection(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS, bilevel=True,
                                 options={"proj_intv": 3})
    head_before = ctx.supernet.head.weight.detach().clone()

    selection = selector.select(ctx)

    steps = ctx.optimizer.step_weights
    assert len(steps) == 2 * 2  # the 2nd (last) decision comes at tuning epoch 3 − 1 = 2; × max_steps_per_epoch
    first = ctx.space.edge_names.index(selection.trajectory[0]["edge"])
    one_hot = torch.nn.functional.one_hot(torch.tensor(SCALE), 3).float()
    soft = torch.softmax(torch.tensor(CHAIN_LOGITS), dim=-1)
    for weights in steps:
        torch.testing.assert_close(weights[first], one_hot)
        torch.testing.assert_close(weights[1 - first], soft[1 - first])
    assert not torch.equal(ctx.supernet.head.weight, head_before)
    assert selection.details["tune_epochs"] == 2


def test_magnitude_mode_picks_the_largest_logit_and_its_supernet_ends_worse(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS, options={"mode": "magnitude"})
    selection = selector.select(ctx)

    assert selection.arch == (NOISE, SCALE) == ctx.space.argmax(ctx.optimizer.logits())
    assert all(row["masked_acc"] == "{}" for row in selection.trajectory)
    assert selection.details["tune_epochs"] == 1
    assert selection.trajectory[-1]["supernet_acc"] < 80.0


def test_loss_criterion_keeps_the_op_whose_removal_raises_the_loss_most(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS, options={"criterion": "loss"})
    selection = selector.select(ctx)

    for row in selection.trajectory:
        masked = json.loads(row["masked_loss"])
        assert max(masked, key=masked.get) == row["choice"]
        # only noise is left: logits independent of the label, so the loss is at least ln 2 (Jensen)
        assert masked["scale"] > np.log(2) - 0.02
    assert selection.arch == (SCALE, SCALE)


def test_eval_batches_caps_the_measurement(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS,
                                 options={"eval_batches": 1, "proj_intv": 0, "measure_on": "plain"})
    ctx.trainer.search["eval_batch_size"] = 16
    selection = selector.select(ctx)

    # per decision: the supernet before, with each of 3 ops masked, and after; one batch of 16
    # each, in train mode (BatchNorm on batch statistics, as the reference measures)
    assert ctx.supernet.calls == [(16, True)] * 2 * (1 + 3 + 1)
    assert selection.details["tune_epochs"] == 0


def test_decision_epochs_by_hand():
    # darts-pt on NB201: 6 edges, proj_intv 5 → 25 tuning epochs, projections where
    # epoch % 5 == 0 or epoch == 24.
    reference = [e for e in range(25) if e % 5 == 0 or e == 24]
    assert decision_epochs(6, 5) == reference == [0, 5, 10, 15, 20, 24]
    assert decision_epochs(6, 5, "even") == [0, 5, 10, 15, 20, 25]
    assert decision_epochs(2, 3) == [0, 2]
    assert decision_epochs(3, 2) == [e for e in range(4) if e % 2 == 0 or e == 3] == [0, 2, 3]
    assert decision_epochs(3, 1) == [0, 1, 2]  # one epoch early would coincide with the previous decision
    assert decision_epochs(3, 0) == [0, 0, 0]
    assert decision_epochs(1, 5) == [0]


class WideSpace(ChainSpace):
    """Six input channels, each through one edge into the output (NB201's edge count); label [c₀ + c₁ > 1]."""

    name = "wide"
    channels = 6
    op_names = ("none", "scale", "noise")
    edge_names = tuple(f"7<-{k}" for k in range(6))

    def build_supernet(self, dataset, options):
        return FanInSupernet(edges=6)


def wide_data(n: int, seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 6, 1, 1, generator=generator)
    return ImageSet(images, (images[:, 0, 0, 0] + images[:, 1, 0, 0] > 1.0).long())


@pytest.mark.parametrize("schedule, expected", [("reference", [0, 5, 10, 15, 20, 24]),
                                                ("even", [0, 5, 10, 15, 20, 25])])
def test_six_edges_are_decided_at_the_reference_tuning_epochs(tmp_path, schedule, expected):
    logits = [[0.0, 1.0, 0.0]] * 6
    ctx, selector = make_context(tmp_path, WideSpace(), wide_data, logits,
                                 options={"proj_intv": 5, "schedule": schedule, "eval_batches": 1})
    epochs = []
    train_epoch = ctx.trainer.train_epoch
    ctx.trainer.train_epoch = lambda **kwargs: epochs.append(kwargs) or train_epoch(**kwargs)

    selection = selector.select(ctx)

    assert [row["tune_epoch"] for row in selection.trajectory] == expected
    assert len(epochs) == selection.details["tune_epochs"] == expected[-1]
    assert all(kwargs == {"update_arch": True, "lr": pytest.approx(0.0025)} for kwargs in epochs)
    assert selection.details["decision_epochs"] == expected


def augmented_context(tmp_path, measure_on: str):
    """The chain space on 1×2×2 images (flattened: the chain's 4 features) that augment with padding 1."""
    space = ChainSpace()
    info = DatasetInfo("toy-aug", num_classes=2, channels=1, image_size=2, mean=(0.5,), std=(0.5,),
                       augment=True, crop_padding=1)
    config = merge(DEFAULTS, {"search": {"epochs": 1, "batch_size": 32, "eval_batch_size": 200}})

    def images(n, seed):
        data = chain_data(n, seed)
        return ImageSet(data.images.reshape(n, 1, 2, 2), data.labels)

    data = SearchData.split(info, images(200, 0), images(16, 1), 0, torch.device("cpu"))
    run = RunContext(config, Method("test", "fixed-logits", "pt"), space, info, data, torch.device("cpu"),
                     0, tmp_path, None)
    supernet = space.build_supernet(info, {})
    optimizer = FixedLogits(CHAIN_LOGITS)
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    ctx = SelectionContext(run, space, info, supernet, optimizer, data, trainer, lambda arch: {}, np.random.default_rng(0))
    return ctx, PTSelector({"proj_intv": 0, "measure_on": measure_on})


def crops_and_flips(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Every random-crop (zero padding) and flip variant of each image: ``(N, variants, C, H, W)``."""
    h, w = images.shape[-2:]
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    crops = [padded[..., dy:dy + h, dx:dx + w] for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)]
    return torch.stack(crops + [crop.flip(-1) for crop in crops], dim=1)


def test_measurements_read_the_augmented_validation_stream(tmp_path):
    ctx, selector = augmented_context(tmp_path, "augmented")
    selector.select(ctx)

    valid = (ctx.data.valid.images - 0.5) / 0.5  # normalized, as the trainer feeds them
    variants = crops_and_flips(valid, padding=1)
    passes = [ctx.supernet.inputs[i:i + 4] for i in range(0, len(ctx.supernet.inputs), 4)]
    assert len(passes) == 2 * (1 + 3 + 1)  # per decision: before, 3 masked ops, after
    assert [shape for shape, _ in ctx.supernet.calls[:4]] == [32, 32, 32, 4]  # search batches; 100 images
    plain_seen = 0
    for batches in passes:
        seen = torch.cat(batches)
        matches = (variants[None] == seen[:, None, None]).flatten(3).all(-1)  # (seen, source, variant)
        sources = matches.any(-1)
        assert torch.all(sources.sum(1) == 1)  # each seen image is a crop/flip of exactly one validation image
        assert sorted(sources.float().argmax(1).tolist()) == list(range(len(valid)))  # every one, once
        plain_seen += int(matches[..., 4].any(-1).sum())  # variant 4: centre crop, unflipped = the plain image
    assert plain_seen < 0.3 * 10 * len(valid)  # centre & unflipped has probability 1/18
    assert not torch.equal(torch.cat(passes[0]), torch.cat(passes[1]))  # fresh draws at every measurement


def test_plain_measurements_read_every_validation_image_in_order(tmp_path):
    ctx, selector = augmented_context(tmp_path, "plain")
    selector.select(ctx)
    valid = (ctx.data.valid.images - 0.5) / 0.5
    assert ctx.supernet.calls == [(100, True)] * 10
    for seen in ctx.supernet.inputs:
        torch.testing.assert_close(seen, valid)


def test_projection_sets_decided_rows_for_2d_and_per_example_weights():
    projection = Projection(num_edges=3, num_ops=4)
    weights = torch.rand(5, 3, 4, requires_grad=True)
    assert projection(weights) is weights

    projection.decide(1, 2)
    projection.decide(0, 3)
    projection.prune(0)
    projected = projection(weights)

    assert projected.shape == (5, 3, 4)
    torch.testing.assert_close(projected[:, 0], torch.zeros(5, 4))
    torch.testing.assert_close(projected[:, 1], torch.tensor([0.0, 0.0, 1.0, 0.0]).expand(5, 4))
    torch.testing.assert_close(projected[:, 2], weights[:, 2])
    (projected * torch.rand(5, 3, 4)).sum().backward()
    assert torch.all(weights.grad[:, :2] == 0) and torch.all(weights.grad[:, 2] != 0)

    flat = projection(weights[0].detach())
    torch.testing.assert_close(flat, projected[0].detach())


def test_topology_helpers_by_hand():
    class Space(FanInSpace):
        node_inputs = ((0, 1), (2, 3, 4))
        edge_names = ("a", "b", "c", "d", "e")

    topology = Topology.of(Space())
    assert topology.nodes_to_decide() == [1]
    assert Space().edge_choices(0) == (1, 2)  # PT never chooses none as an edge's op
    assert topology.keep(1, {2: 0.3, 3: 0.9, 4: 0.3}) == (2, 3)
    arch = topology.complete([1, 2, 1, 2, 1], kept={1: (3, 4)}, strength={})
    assert arch == (1, 2, 0, 2, 1)
    arch = topology.complete([1, 2, 1, 2, 1], kept={}, strength={0: 0, 1: 0, 2: 0.1, 3: 0.5, 4: 0.7})
    assert arch == (1, 2, 0, 2, 1)
    assert Topology.of(ChainSpace()) is None


@pytest.mark.parametrize("base, attributes, message", [
    (ChainSpace, {"node_inputs": ((0, 1),)}, "only one of"),
    (FanInSpace, {"op_names": ("zero", "scale", "noise")}, "no 'none' op"),
    (FanInSpace, {"node_inputs": ((0, 1), (1, 2))}, "at most once"),
    (FanInSpace, {"node_inputs": ((0, 1, 5),)}, "at most once"),
    (FanInSpace, {"inputs_per_node": 0}, "at least 1"),
])
def test_topology_rejects_inconsistent_spaces(base, attributes, message):
    space = type("Space", (base,), attributes)()
    with pytest.raises(UserError, match=message):
        Topology.of(space)


@pytest.mark.parametrize("criterion", ["acc", "loss"])
def test_topology_phase_keeps_the_informative_inputs(tmp_path, criterion):
    """α favours the distractor input c₂; removing c₀ or c₁ costs ~25 points, removing c₂ none."""
    logits = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]
    ctx, selector = make_context(tmp_path, FanInSpace(), fan_in_data, logits, options={"criterion": criterion})
    selection = selector.select(ctx)

    assert selection.arch == (SCALE, SCALE, NONE)
    rows = selection.trajectory
    assert [row["phase"] for row in rows] == ["op"] * 3 + ["topology"]
    assert all(row["choice"] != "none" for row in rows[:3])
    masked = json.loads(rows[-1]["masked_acc"])
    assert masked["3<-2"] > max(masked["3<-0"], masked["3<-1"])
    assert rows[-1]["choice"] == "3<-0,3<-1" and rows[-1]["edge"] == "node 0"  # node_inputs[0]
    # the pruned supernet is the winning trial: the same measurement (no noise op is left)
    assert rows[-1]["supernet_acc"] == masked["3<-2"]
    assert rows[-1]["supernet_loss"] == pytest.approx(json.loads(rows[-1]["masked_loss"])["3<-2"], rel=1e-6)
    assert rows[0]["arch"].count("none") == 1  # the architecture so far is always a valid topology
    assert selection.details["tune_epochs"] == 3


def test_magnitude_topology_keeps_the_inputs_with_largest_weight(tmp_path):
    """softmax weights of scale: 0.58, 0.58, 0.91 → keep c₂ and (tie, lower index) c₀."""
    logits = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]
    ctx, selector = make_context(tmp_path, FanInSpace(), fan_in_data, logits, options={"mode": "magnitude"})
    assert selector.select(ctx).arch == (SCALE, NONE, SCALE)


class ParentSetSpace(ChainSpace):
    """Rows that choose parent sets, as NB101's do: no op column per edge to decide."""

    name = "parent-sets"
    one_op_per_edge = False


def test_a_space_of_parent_sets_is_a_user_error(tmp_path):
    ctx, selector = make_context(tmp_path, ParentSetSpace(), chain_data, CHAIN_LOGITS)
    with pytest.raises(UserError, match=r"^PT decides one op per edge or the rows a space declares with "
                                        r"row_choices\(\); the rows of search space parent-sets are neither; use the "
                                        r"argmax or proxy selector there$"):
        selector.select(ctx)


class NoNoiseOnEdge0(FanInSpace):
    """Edge 3<-0 does not offer the noise op (a RobustDARTS-style restricted edge)."""

    def candidate_ops(self, edge):
        return (0, 1) if edge == 0 else (0, 1, 2)


@pytest.mark.parametrize("scale_logit_0, expected", [(4.0, (SCALE, NONE, SCALE)), (2.0, (NONE, SCALE, SCALE))])
def test_magnitude_topology_ranks_inputs_by_the_softmax_over_each_edges_offered_ops(tmp_path, scale_logit_0,
                                                                                   expected):
    """Scale is every edge's op. Its softmax weight over the offered ops (none, scale[, noise]):
    3<-0: e⁴/(e³ + e⁴) = 0.73 (noise's logit 10 is not offered), 3<-1: e^1.5/(e² + e^1.5 + 1) = 0.35,
    3<-2: e^0.5/(1 + e^0.5 + 1) = 0.45 → keep 3<-0 and 3<-2. Over all ops 3<-0 would drop to 0.002,
    and over edges (scale's column 4, 1.5, 0.5) 3<-1 would beat 3<-2. With scale's logit 2 on 3<-0,
    e²/(e³ + e²) = 0.27 is the weakest: keep 3<-1 and 3<-2."""
    logits = [[3.0, scale_logit_0, 10.0], [2.0, 1.5, 0.0], [0.0, 0.5, 0.0]]
    ctx, selector = make_context(tmp_path, NoNoiseOnEdge0(), fan_in_data, logits,
                                 options={"mode": "magnitude", "proj_intv": 0})
    selection = selector.select(ctx)
    assert selection.arch == expected
    assert selection.details["edge_order"][0] != "3<-0"  # so the rows show 3<-0 undecided, by magnitude
    noise = ctx.space.op_names.index("noise")
    assert all(ctx.space.parse(row["arch"])[0] != noise for row in selection.trajectory)


class CannedMeasurements(PTSelector):
    """PT whose measurement with op o masked on the edge being decided is ``CANNED[o]`` (accuracy %, loss)."""

    CANNED = {NOISE: (40.0, 0.5), SCALE: (60.0, 2.0), 2: (50.0, 1.0)}

    def _measure(self, ctx, projection, weights=None):
        if weights is None:
            return 50.0, 1.0
        undecided = [edge for edge in range(ctx.space.num_edges) if edge not in projection.ops]
        (op,) = [o for edge in undecided for o in range(ctx.space.num_ops) if weights[edge, o] == 0]
        return self.CANNED[op]


@pytest.mark.parametrize("criterion, kept", [("acc", NOISE), ("loss", SCALE)])
def test_criterion_decides_between_the_lowest_accuracy_and_the_highest_loss(tmp_path, criterion, kept):
    """Masking noise costs the most accuracy (40 %), masking scale raises the loss most (2.0)."""
    ctx, _ = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS)
    selection = CannedMeasurements({"criterion": criterion, "proj_intv": 0}).select(ctx)
    assert selection.arch == (kept, kept)


@pytest.mark.parametrize("options, message", [
    ({"proj_int": 5}, "selector pt: unknown option 'proj_int' \\(did you mean proj_intv\\?\\); known: proj_intv, criterion"),
    ({"criterion": "f1"}, "option 'criterion' = 'f1': input should be 'acc' or 'loss'"),
    ({"mode": "random"}, "option 'mode' = 'random': input should be 'perturbation' or 'magnitude'"),
    ({"proj_intv": -1}, "option 'proj_intv' = -1: input should be greater than or equal to 0"),
    ({"tune_lr_scale": 0}, "option 'tune_lr_scale' = 0: input should be greater than 0"),
    ({"eval_batches": 0}, "option 'eval_batches' = 0: input should be greater than or equal to 1"),
])
def test_bad_options_are_user_errors(options, message):
    with pytest.raises(UserError, match=message):
        PTSelector(options)


def test_plugin_registers_the_selector_and_methods():
    registered = load_plugins(extra=[plugins.pt], from_entry_points=False)
    assert isinstance(registered["selector"].create("pt", {"proj_intv": 1}), PTSelector)
    methods = [registered["method"].create(name) for name in ("darts-pt", "darts-pt-fixalpha", "darts-pt-mag")]
    assert [(m.optimizer, m.selector) for m in methods] == [("darts", "pt"), ("fixed", "pt"), ("darts", "pt")]
    assert all(m.defaults["search"]["epochs"] == 100 for m in methods)
    assert methods[2].defaults["selector"]["options"] == {"mode": "magnitude"}
    assert "selector" not in methods[0].defaults and "selector" not in methods[1].defaults


class NoisePreferred(CannedMeasurements):
    """Masking noise costs the most accuracy: PT keeps noise wherever the edge offers it (fan-in ops)."""

    CANNED = {NONE: (50.0, 1.0), SCALE: (45.0, 1.0), 2: (10.0, 1.0)}


def test_pt_chooses_among_the_ops_each_edge_offers(tmp_path):
    ctx, _ = make_context(tmp_path, NoNoiseOnEdge0(), fan_in_data, [[0.0, 1.0, 0.0]] * 3)
    selection = NoisePreferred({"proj_intv": 0}).select(ctx)
    choices = {row["edge"]: row["choice"] for row in selection.trajectory if row["phase"] == "op"}
    assert choices == {"3<-0": "scale", "3<-1": "noise", "3<-2": "noise"}


def test_each_measurement_before_a_decision_sees_the_decisions_so_far(tmp_path):
    """Without tuning, the supernet measured before the topology decision is the one measured
    after the last op decision (every edge decided on scale: nothing random is left)."""
    class NoNoise(FanInSpace):
        def candidate_ops(self, edge):
            return (NONE, SCALE)

    logits = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]
    ctx, selector = make_context(tmp_path, NoNoise(), fan_in_data, logits, options={"proj_intv": 0, "measure_on": "plain"})
    selection = selector.select(ctx)
    rows = selection.trajectory
    assert rows[3]["phase"] == "topology" and rows[3]["supernet_acc_before"] == rows[2]["supernet_acc"]
    assert selection.details["final_supernet_acc"] == rows[3]["supernet_acc"] != rows[1]["supernet_acc"]


class SharperWhenTraining(FixedLogits):
    """Mixing weights that differ between training (softmax(5α)) and evaluation (softmax(α)), as a sampling
    optimizer's would."""

    def mixing_weights(self, training):
        return torch.softmax(self.alpha * (5.0 if training else 1.0), dim=-1)


class RecordingPT(PTSelector):
    def __init__(self, options):
        super().__init__(options)
        self.masked: list[torch.Tensor] = []

    def _measure(self, ctx, projection, weights=None):
        if weights is not None:
            self.masked.append(weights.clone())
        return super()._measure(ctx, projection, weights)


def test_masked_measurements_start_from_the_evaluation_mixing_weights(tmp_path):
    ctx, _ = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS)
    ctx = dataclasses.replace(ctx, optimizer=SharperWhenTraining(CHAIN_LOGITS))
    selector = RecordingPT({"proj_intv": 0})
    started = time.perf_counter()
    selection = selector.select(ctx)
    assert selection.details["selection_seconds"] <= time.perf_counter() - started
    first_edge = ctx.space.edge_names.index(selection.details["edge_order"][0])
    expected = torch.softmax(torch.tensor(CHAIN_LOGITS), dim=-1)
    for op, weights in enumerate(selector.masked[:3]):
        masked = expected.clone()
        masked[first_edge, op] = 0.0
        torch.testing.assert_close(weights, masked)


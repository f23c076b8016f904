"""PT (perturbation-based selection) on constructed supernets whose right answer is known.

The chain supernet: x → edge "1<-0" → h → edge "2<-1" → z → a linear head reading
feature 0, label = [x₀ > 0]. Ops on every edge: ``noise`` (N(0, 1), ignores its input),
``scale`` (×10, carries the signal) and ``zero``. The logits put a large α on ``noise`` on
the first edge, so argmax picks noise there; masking ``scale`` leaves only noise (chance
accuracy), so PT keeps ``scale`` on both edges.
"""
from __future__ import annotations

import json

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
from plugins.pt.selector import Projection, PTSelector
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
        self.measured: list[torch.Tensor] = []  # inputs of evaluations (grad off)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        self.seen.append(weights.detach().clone())
        self.calls.append((int(x.shape[0]), self.training))
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
    """Three inputs c₀, c₁, c₂ each feed the output node through one edge; ops none, scale, noise."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.1], [0.1]]))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        channels = x.flatten(1)
        out = sum(_mix(channels[:, k:k + 1], weights[..., k, :],
                       [torch.zeros_like(channels[:, k:k + 1]), 10.0 * channels[:, k:k + 1],
                        torch.randn_like(channels[:, k:k + 1])]) for k in range(3))
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
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS, options={"proj_intv": 0})
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


def test_tuning_steps_weights_and_architecture_under_the_projection(tmp_path):
    ctx, selector = make_context(tmp_path, ChainSpace(), chain_data, CHAIN_LOGITS, bilevel=True,
                                 options={"proj_intv": 2})
    head_before = ctx.supernet.head.weight.detach().clone()

    selection = selector.select(ctx)

    steps = ctx.optimizer.step_weights
    assert len(steps) == 2 * 2  # (edges − 1) × proj_intv epochs × max_steps_per_epoch
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
                                 options={"eval_batches": 1, "proj_intv": 0})
    ctx.trainer.search["eval_batch_size"] = 16
    selection = selector.select(ctx)

    # per decision: the supernet before, with each of 3 ops masked, and after; one batch of 16
    # each, in train mode (BatchNorm on batch statistics, as the reference measures)
    assert ctx.supernet.calls == [(16, True)] * 2 * (1 + 3 + 1)
    assert selection.details["tune_epochs"] == 0


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
    assert topology.op_candidates(3) == [1, 2]
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


def test_topology_phase_keeps_the_informative_inputs(tmp_path):
    """α favours the distractor input c₂; removing c₀ or c₁ costs ~25 points, removing c₂ none."""
    logits = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]
    ctx, selector = make_context(tmp_path, FanInSpace(), fan_in_data, logits)
    selection = selector.select(ctx)

    assert selection.arch == (SCALE, SCALE, NONE)
    rows = selection.trajectory
    assert [row["phase"] for row in rows] == ["op"] * 3 + ["topology"]
    assert all(row["choice"] != "none" for row in rows[:3])
    masked = json.loads(rows[-1]["masked_acc"])
    assert masked["3<-2"] > max(masked["3<-0"], masked["3<-1"])
    assert rows[-1]["choice"] == "3<-0,3<-1"
    assert rows[0]["arch"].count("none") == 1  # the architecture so far is always a valid topology
    assert selection.details["tune_epochs"] == 3


def test_magnitude_topology_keeps_the_inputs_with_largest_weight(tmp_path):
    """softmax weights of scale: 0.58, 0.58, 0.91 → keep c₂ and (tie, lower index) c₀."""
    logits = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]
    ctx, selector = make_context(tmp_path, FanInSpace(), fan_in_data, logits, options={"mode": "magnitude"})
    assert selector.select(ctx).arch == (SCALE, NONE, SCALE)


@pytest.mark.parametrize("options, message", [
    ({"proj_int": 5}, "selector pt: unknown option 'proj_int'; known: proj_intv, criterion"),
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
    registered: dict[str, object] = {}

    def register(name, factory, description=""):
        registered[name] = factory

    plugins.pt.nasbench_register_selectors(register=register)
    plugins.pt.nasbench_register_methods(register=register)
    assert isinstance(registered["pt"]({"proj_intv": 1}), PTSelector)
    methods = [registered[name]() for name in ("darts-pt", "darts-pt-fixalpha", "darts-pt-mag")]
    assert [(m.optimizer, m.selector) for m in methods] == [("darts", "pt"), ("fixed", "pt"), ("darts", "pt")]
    assert all(m.defaults["search"]["epochs"] == 100 for m in methods)
    assert methods[2].defaults["selector"]["options"] == {"mode": "magnitude"}
    assert "selector" not in methods[0].defaults and "selector" not in methods[1].defaults

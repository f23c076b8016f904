"""PT on spaces whose rows choose column sets (``row_choices``): a tiny 1Shot1-like space with a known answer,
the three NAS-Bench-1Shot1 spaces, and ``nasbench run -m darts-pt`` on ``nb1shot1-3``.

The 1Shot1-like space has one node with four candidate parents c₀…c₃, of which it keeps two, and
one op row (noise, scale, zero) applied to the parents' weighted sum h; label = [c₁ + c₃ > 0]
(c₀ and c₂ are distractors). The logits favour the noise op and the distractor parents, so argmax
is wrong twice; with the softmax weights (.37, .13, .37, .13) on the parents, removing c₁ or c₃
costs ~5 points of accuracy and removing c₀ or c₂ gains ~2, so PT must keep scale and {c₁, c₃}.
"""
from __future__ import annotations

import csv
import dataclasses
import json
from itertools import combinations

import numpy as np
import pytest
import torch
from nb101_fixture import run_on_nb1shot1
from tiny import FixedLogits
from torch import nn

from harness import (
    ArchOptimizer,
    DatasetInfo,
    ImageSet,
    Method,
    RowChoice,
    RunContext,
    SearchData,
    SearchSpace,
    SelectionContext,
    Supernet,
    Trainer,
    UserError,
)
from harness.experiment.config import DEFAULTS, merge
from plugins.darts.optimizer import DartsOptimizer, FixedOptimizer
from plugins.nb1shot1.mapping import parents_of
from plugins.nb1shot1.space import NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3
from plugins.pt.selector import PTSelector

PARENT_SETS = tuple(combinations(range(4), 2))
OP_ROW, PARENTS_ROW = 0, 1
NOISE, SCALE = 0, 1
LOGITS = [[2.0, 0.0, 0.0, -1e9], [1.0, 0.0, 1.0, 0.0]]  # op row: 3 ops (column 3 is padding)


class ParentsSupernet(Supernet):
    """h = Σ_p w_p · c_p over the parents row; out = Σ_o w_o · op_o(h) over the op row; the head reads out."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.1], [0.1]]))
            self.head.bias.zero_()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        self.seen.append(weights.detach().clone())
        channels = x.flatten(1)
        h = (channels * weights[..., PARENTS_ROW, :]).sum(dim=-1, keepdim=True)
        ops = [torch.randn_like(h), 10.0 * h, torch.zeros_like(h)]
        out = sum(weights[..., OP_ROW, o].reshape(-1, 1) * op for o, op in enumerate(ops))
        return self.head(out)


class ParentsSpace(SearchSpace):
    """Architecture: (op, index of the parent pair in ``combinations(range(4), 2)``)."""

    name = "parents"
    one_op_per_edge = False
    op_names = ("noise", "scale", "zero", "pad")
    edge_names = ("op1", "in1")

    def row_choices(self):
        return (RowChoice((0, 1, 2), 1, "op"), RowChoice((0, 1, 2, 3), 2, "inputs"))

    def candidate_ops(self, edge):
        return (0, 1, 2) if edge == OP_ROW else (0, 1, 2, 3)

    def argmax(self, scores):
        op = int(scores[OP_ROW, :3].argmax())
        parents = tuple(sorted(sorted(range(4), key=lambda p: (-float(scores[PARENTS_ROW, p]), p))[:2]))
        return (op, PARENT_SETS.index(parents))

    def build_supernet(self, dataset, options):
        return ParentsSupernet()

    def build_network(self, arch, dataset, options):
        raise NotImplementedError("the test space has no stand-alone network")

    def parse(self, text):
        op, parents = text.split(";")
        return (self.op_names.index(op), PARENT_SETS.index(tuple(int(p) for p in parents.split(","))))

    def format(self, arch):
        return f"{self.op_names[arch[0]]};{','.join(str(p) for p in PARENT_SETS[arch[1]])}"


def parents_data(n: int, seed: int) -> ImageSet:
    images = torch.rand(n, 4, 1, 1, generator=torch.Generator().manual_seed(seed))
    return ImageSet(images, (images[:, 1, 0, 0] + images[:, 3, 0, 0] > 1.0).long())


def context(tmp_path, space: SearchSpace, info: DatasetInfo, data: SearchData, supernet: Supernet,
            optimizer: ArchOptimizer, search: dict) -> SelectionContext:
    config = merge(DEFAULTS, {"search": search})
    run = RunContext(config, Method("test", "fixed", "pt"), space, info, data, torch.device("cpu"), 0, tmp_path, None)
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    return SelectionContext(run, space, info, supernet, optimizer, data, trainer, lambda arch: {},
                            np.random.default_rng(0))


def parents_context(tmp_path) -> SelectionContext:
    torch.manual_seed(0)
    info = DatasetInfo("toy", num_classes=2, channels=4, image_size=1, mean=(0.5,) * 4, std=(0.5,) * 4)
    data = SearchData.split(info, parents_data(8192, 0), parents_data(64, 1), 0, torch.device("cpu"))
    space = ParentsSpace()
    return context(tmp_path, space, info, data, space.build_supernet(info, {}), FixedLogits(LOGITS),
                   {"epochs": 1, "batch_size": 64, "eval_batch_size": 4096, "max_steps_per_epoch": 2})


def test_pt_keeps_the_signal_op_and_parents_that_argmax_drops(tmp_path):
    ctx = parents_context(tmp_path)
    space = ctx.space
    assert space.format(space.argmax(ctx.optimizer.logits())) == "noise;0,2"

    selection = PTSelector({"proj_intv": 0, "measure_on": "plain"}).select(ctx)

    assert space.format(selection.arch) == "scale;1,3"
    op, parents = selection.trajectory
    assert (op["phase"], op["edge"], op["choice"]) == ("op", "op1", "scale")
    assert (parents["phase"], parents["edge"], parents["choice"]) == ("topology", "in1", "1,3")
    masked_ops = json.loads(op["masked_acc"])
    assert masked_ops["scale"] < 60.0 < masked_ops["noise"]
    masked = json.loads(parents["masked_acc"])
    assert max(masked["1"], masked["3"]) + 3.0 < parents["supernet_acc_before"] < min(masked["0"], masked["2"])
    assert parents["supernet_acc"] == 100.0  # h = c₁ + c₃ once the pair is discretized
    assert op["arch"] == "scale;0,2"  # undecided rows by magnitude
    assert parents["arch"] == "scale;1,3"
    assert selection.details["edge_order"] == ["op1"] and selection.details["node_order"] == ["in1"]


def test_masking_and_decided_rows_reach_the_supernet_as_given(tmp_path):
    """A masked column is 0 with the others unchanged; decided rows are one-hot (op) and 1 on each kept parent."""
    ctx = parents_context(tmp_path)
    PTSelector({"proj_intv": 0, "measure_on": "plain", "eval_batches": 1}).select(ctx)

    seen = ctx.supernet.seen
    soft = torch.softmax(torch.tensor(LOGITS), dim=-1)
    # decision 1: before, 3 masks, after; decision 2: before, 4 masks, after
    assert len(seen) == 5 + 6
    masked_noise = soft.clone()
    masked_noise[OP_ROW, NOISE] = 0.0
    torch.testing.assert_close(seen[1], masked_noise)
    scale_row = torch.tensor([0.0, 1.0, 0.0, 0.0])
    masked_parent = soft.clone()
    masked_parent[OP_ROW] = scale_row
    masked_parent[PARENTS_ROW, 2] = 0.0
    torch.testing.assert_close(seen[5 + 3], masked_parent)
    torch.testing.assert_close(seen[-1], torch.stack([scale_row, torch.tensor([0.0, 1.0, 0.0, 1.0])]))


def test_magnitude_mode_keeps_the_largest_logits_per_row(tmp_path):
    ctx = parents_context(tmp_path)
    selection = PTSelector({"proj_intv": 0, "mode": "magnitude", "eval_batches": 1}).select(ctx)
    assert ctx.space.format(selection.arch) == "noise;0,2"


def test_a_space_with_set_rows_but_no_row_choices_is_refused(tmp_path):
    class Undeclared(ParentsSpace):
        def row_choices(self):
            return None

    ctx = dataclasses.replace(parents_context(tmp_path), space=Undeclared())
    with pytest.raises(UserError, match="row_choices"):
        PTSelector({"proj_intv": 0}).select(ctx)


# parents of each node chosen by a row, from the NAS-Bench-1Shot1 paper's table (the output last)
CHOSEN_PARENTS = {NB1Shot1Space1: {3: 2, 4: 2, 5: 2}, NB1Shot1Space2: {2: 1, 3: 2, 4: 2, 5: 3},
                  NB1Shot1Space3: {2: 1, 3: 1, 4: 2, 5: 2, 6: 2}}


@pytest.mark.parametrize("space_class", [NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3])
@pytest.mark.parametrize("optimizer_class", [DartsOptimizer, FixedOptimizer])
def test_pt_on_nb1shot1_keeps_each_nodes_number_of_parents(tmp_path, space_class, optimizer_class):
    space = space_class()
    torch.manual_seed(0)
    info = DatasetInfo("toy", num_classes=3, channels=3, image_size=4, mean=(0.5,) * 3, std=(0.25,) * 3)
    images = torch.rand(96, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 3, (96,), generator=torch.Generator().manual_seed(1))
    data = SearchData.split(info, ImageSet(images, labels), ImageSet(images[:8], labels[:8]), 0, torch.device("cpu"))
    supernet = space.build_supernet(info, {"C": 2, "N": 1})
    ctx = context(tmp_path, space, info, data, supernet, optimizer_class(),
                  {"epochs": 1, "batch_size": 16, "eval_batch_size": 16, "max_steps_per_epoch": 1})

    selection = PTSelector({"proj_intv": 1, "eval_batches": 1}).select(ctx)

    rows = selection.trajectory
    expected = CHOSEN_PARENTS[space_class]
    assert [row["phase"] for row in rows] == ["op"] * space.layout.steps + ["topology"] * len(expected)
    parents = parents_of(space.layout, selection.arch)
    output = space.layout.output_node
    assert {node: len(parents[node]) for node in expected} == expected
    for row in rows[space.layout.steps:]:
        node = output if row["edge"] == "out" else int(row["edge"][2:])
        assert tuple(int(p) for p in str(row["choice"]).split(",")) == parents[node]
    for row in rows[:space.layout.steps]:
        assert row["choice"] == space.op_names[selection.arch[space.edge_names.index(row["edge"])]]
    spec = space.nb101_spec(selection.arch)
    assert spec.problem() is None
    assert len(space.describe(selection.arch)["nb101_hash"]) == 32
    assert rows[-1]["arch"] == space.format(selection.arch)
    assert selection.details["tune_epochs"] == len(rows) - 1


def test_darts_pt_runs_on_nb1shot1_space_3_and_records_the_nb101_cell(tmp_path):
    record, folder = run_on_nb1shot1(tmp_path, "darts-pt", "nb1shot1-3", "search.max_steps_per_epoch=2",
                                     "space.options.C=2", "space.options.N=1", "selector.options.proj_intv=1",
                                     "selector.options.eval_batches=1")
    space = NB1Shot1Space3()
    arch = space.parse(record["arch"])
    details = space.describe(arch)
    assert record["arch_details"] == details and len(details["nb101_hash"]) == 32
    assert space.nb101_spec(arch).problem() is None
    with (folder / "selection.csv").open() as file:
        decisions = list(csv.DictReader(file))
    assert [row["phase"] for row in decisions] == ["op"] * 5 + ["topology"] * 5  # the output and 4 parents rows
    assert decisions[-1]["arch"] == record["arch"]

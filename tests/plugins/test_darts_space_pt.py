"""PT's Algorithm 2 on the DARTS space: op selection, then two inputs per node, on a supernet whose right inputs are known.

The supernet keeps the DARTS space's 28 edges, 8 ops and topology but replaces the cells by
sums anyone can reason about: an input is (signal s, distractor d), label = [s > 0]. On a
"signal" edge sep_conv_3x3 carries 10·s and every other op adds nothing; on the other edges
every op other than none carries 3·d. The logit is the weighted sum of all edges, so
removing a distractor edge never lowers accuracy and removing a signal edge never raises
it: PT must keep sep_conv_3x3 on signal edges and, per node, exactly the two signal inputs.
The architecture logits favour the distractor edges, so DARTS' argmax keeps the wrong ones.
"""
from __future__ import annotations

import json

import numpy as np
import torch
from tiny import FixedLogits
from torch import nn

from harness import (
    DatasetInfo,
    ImageSet,
    Method,
    RunContext,
    SearchData,
    SelectionContext,
    Supernet,
    Trainer,
)
from harness.experiment.config import DEFAULTS, merge
from plugins.darts_space.genotype import EDGE_NAMES
from plugins.darts_space.space import DartsSpace
from plugins.pt.selector import PTSelector

SEP = DartsSpace.op_names.index("sep_conv_3x3")
SIGNAL_INPUTS = {"normal": {2: (0, 1), 3: (1, 2), 4: (0, 3), 5: (2, 4)},
                 "reduce": {2: (0, 1), 3: (0, 2), 4: (1, 3), 5: (0, 4)}}
SIGNAL_EDGES = [e for e, name in enumerate(EDGE_NAMES)
                if int(name.split("<-")[1]) in SIGNAL_INPUTS[name.split(":")[0]][int(name.split(":")[1][0])]]
INFO = DatasetInfo("signal", num_classes=2, channels=2, image_size=1, mean=(0.5, 0.5), std=(0.5, 0.5))


class SignalSupernet(Supernet):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.1], [0.1]]))
            self.head.bias.zero_()
        signal = torch.zeros(28, 8)
        distractor = torch.zeros(28, 8)
        distractor[:, 1:] = 3.0
        distractor[SIGNAL_EDGES] = 0.0
        signal[SIGNAL_EDGES, SEP] = 10.0
        self.register_buffer("signal", signal)
        self.register_buffer("distractor", distractor)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        s, d = x[:, 0, 0, 0], x[:, 1, 0, 0]
        a = (weights * self.signal).sum(dim=(-2, -1))
        b = (weights * self.distractor).sum(dim=(-2, -1))
        return self.head((a * s + b * d).unsqueeze(1))


class SignalSpace(DartsSpace):
    name = "darts-signal"

    def build_supernet(self, dataset, options):
        return SignalSupernet()


def signal_data(n: int, seed: int) -> ImageSet:
    images = torch.rand(n, 2, 1, 1, generator=torch.Generator().manual_seed(seed))
    return ImageSet(images, (images[:, 0, 0, 0] > 0.5).long())


def test_pt_algorithm_2_keeps_the_signal_inputs_that_argmax_drops(tmp_path):
    space = SignalSpace()
    logits = torch.zeros(28, 8)
    logits[:, 1] = 2.0  # max_pool_3x3 strongest everywhere ...
    logits[SIGNAL_EDGES, 1] = 0.0  # ... but weaker on the signal edges, so argmax ranks them last
    config = merge(DEFAULTS, {"search": {"epochs": 1, "batch_size": 64, "eval_batch_size": 8192}})
    data = SearchData.split(INFO, signal_data(16384, 0), signal_data(64, 1), 0, torch.device("cpu"))
    run = RunContext(config, Method("test", "fixed", "pt"), space, INFO, data, torch.device("cpu"), 0, tmp_path, None)
    supernet = space.build_supernet(INFO, {})
    optimizer = FixedLogits(logits)
    trainer = Trainer(run, supernet, optimizer)
    ctx = SelectionContext(run, space, INFO, supernet, optimizer, data, trainer, lambda arch: {},
                           np.random.default_rng(0))

    argmax = space.genotype(space.argmax(logits))
    assert all(op == "max_pool_3x3" for op, _ in argmax.normal)
    assert [source for _, source in argmax.normal][2:4] == [0, 1]  # node 3: argmax keeps distractor input 0

    selection = PTSelector({"proj_intv": 0}).select(ctx)

    genotype = space.genotype(selection.arch)
    for cell, gene in (("normal", genotype.normal), ("reduce", genotype.reduce)):
        expected = [("sep_conv_3x3", source) for node in range(2, 6) for source in SIGNAL_INPUTS[cell][node]]
        assert list(gene) == expected
    rows = selection.trajectory
    assert [row["phase"] for row in rows] == ["op"] * 28 + ["topology"] * 6  # nodes 2 have only two inputs
    for row in rows[28:]:
        masked = json.loads(row["masked_acc"])
        kept = row["choice"].split(",")
        assert min(masked[edge] for edge in kept) < min(acc for edge, acc in masked.items() if edge not in kept)
    assert rows[-1]["supernet_acc"] == 100.0
    assert selection.arch != space.argmax(logits)

"""PT on a tiny NB201 supernet: whether the weights of the ops PT has discarded keep moving
cannot change a decision or a measurement.

``Trainer._weight_step`` clears gradients with ``zero_grad(set_to_none=True)``; darts-pt's
reference (``model.zero_grad()`` under PyTorch < 2) zeroed them, so SGD's momentum and weight
decay kept moving weights that stopped getting a gradient. Under PT that is exactly the
weights of discarded ops: the projection pins a decided edge's row to one-hot for the rest of
the search, the supernet counts an exactly-zero op for nothing, and zero gradients leave the
clipping norm unchanged. Both ways must give the same PT run; they differ only in those
weights (the per-op cell skips a zero op, so its weights get no gradient; the fused cell
computes it and masks, so they get zero gradients and move either way).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness import DatasetInfo, ImageSet, Method, RunContext, SearchData, Selection, SelectionContext, Trainer
from harness.experiment.config import DEFAULTS, merge
from plugins.darts.optimizer import DartsOptimizer
from plugins.nb201.encoding import OP_NAMES
from plugins.nb201.space import NB201Space
from plugins.pt.selector import PTSelector

INFO = DatasetInfo("halves", num_classes=2, channels=1, image_size=4, mean=(0.0,), std=(1.0,))
COMPARED = ("choice", "masked_acc", "masked_loss", "supernet_acc_before", "supernet_acc", "supernet_loss")


def halves(n: int, seed: int) -> ImageSet:
    """Label: is the top half of the 4×4 image brighter than the bottom half."""
    images = torch.randn(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    return ImageSet(images, (images[:, :, :2].sum((1, 2, 3)) > images[:, :, 2:].sum((1, 2, 3))).long())


def pt_run(tmp_path, cell: str, set_to_none: bool) -> tuple[Selection, dict[str, torch.Tensor]]:
    """One DARTS epoch, then PT (one tuning epoch between decisions), on a 1-cell-per-stage NB201 supernet."""
    torch.manual_seed(0)
    options = {"C": 2, "N": 1, "cell": cell}
    config = merge(DEFAULTS, {"space": {"options": options},
                              "search": {"epochs": 1, "batch_size": 16, "eval_batch_size": 64, "lr": 0.1}})
    data = SearchData.split(INFO, halves(96, 0), halves(32, 1), 0, torch.device("cpu"))
    space = NB201Space()
    run = RunContext(config, Method("darts-pt", "darts", "pt"), space, INFO, data, torch.device("cpu"), 0,
                     tmp_path, None)
    supernet = space.build_supernet(INFO, options)
    optimizer = DartsOptimizer({})
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    clear = trainer.weight_optimizer.zero_grad
    trainer.weight_optimizer.zero_grad = lambda *_, **__: clear(set_to_none=set_to_none)  # type: ignore[method-assign]
    trainer.train_epoch()
    ctx = SelectionContext(run, space, INFO, supernet, optimizer, data, trainer, lambda arch: {},
                           np.random.default_rng(0))
    selection = PTSelector({"proj_intv": 1}).select(ctx)
    return selection, {name: p.detach().clone() for name, p in supernet.named_parameters()}


def discarded(name: str, arch: tuple[int, ...]) -> bool:
    """Whether parameter ``name`` (``cells.<i>.edges.<edge>.<op>.…``) belongs to an op PT did not keep."""
    parts = name.split(".")
    if parts[0] != "cells" or parts[2] != "edges":
        return False
    return OP_NAMES[arch[int(parts[3])]] != parts[4]


@pytest.mark.parametrize("cell", ["per_op", "fused"])
def test_discarded_ops_weights_moving_or_not_changes_no_decision_or_measurement(tmp_path, cell):
    frozen, frozen_weights = pt_run(tmp_path, cell, set_to_none=True)
    moving, moving_weights = pt_run(tmp_path, cell, set_to_none=False)

    assert frozen.arch == moving.arch
    assert len(frozen.trajectory) == len(moving.trajectory) == 6
    for a, b in zip(frozen.trajectory, moving.trajectory):
        assert {key: a[key] for key in COMPARED} == {key: b[key] for key in COMPARED}
    changed = {name for name in frozen_weights if not torch.equal(frozen_weights[name], moving_weights[name])}
    assert all(discarded(name, frozen.arch) for name in changed)
    if cell == "per_op":  # a skipped op's weights have no gradient: with zeros instead, SGD moves them
        assert changed
    else:  # the fused cell hands a masked op zero gradients either way
        assert not changed

"""Search on a problem whose right architecture is known (tests/signal_space.py): on each
edge one op carries the signal, one adds noise, one outputs zero. DARTS and PT must *find*
(signal, signal), not merely move α; a flipped gradient sign or a selector that measures the
wrong thing ends elsewhere."""
from __future__ import annotations

import json

import torch
from signal_space import NOISE, SIGNAL, ZERO, selection_context, signal_run

from harness import Trainer
from plugins.darts.optimizer import DartsOptimizer, FixedOptimizer
from plugins.pt.selector import PTSelector


def searched(tmp_path, optimizer, epochs: int = 6, seed: int = 0):
    torch.manual_seed(seed)
    run = signal_run(tmp_path, {"epochs": epochs, "lr": 0.1}, seed=seed)
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer.attach(run.space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    for _ in range(epochs):
        trainer.train_epoch()
        trainer.scheduler.step()
    return run, supernet, trainer


def test_darts_finds_the_signal_op_on_every_edge(tmp_path):
    optimizer = DartsOptimizer({"lr": 3e-3})
    run, supernet, trainer = searched(tmp_path, optimizer)
    assert run.space.argmax(optimizer.logits()) == (SIGNAL, SIGNAL)
    weights = optimizer.mixing_weights(training=False)
    assert torch.all(weights[:, SIGNAL] > weights[:, NOISE] + 0.02)
    assert torch.all(weights[:, SIGNAL] > weights[:, ZERO] + 0.02)


def test_darts_pt_finds_the_signal_op_on_every_edge(tmp_path):
    optimizer = DartsOptimizer({})
    run, supernet, trainer = searched(tmp_path, optimizer)
    selection = PTSelector({"proj_intv": 1}).select(selection_context(run, supernet, optimizer, trainer))
    assert selection.arch == (SIGNAL, SIGNAL)
    for row in selection.trajectory:
        masked = json.loads(row["masked_acc"])
        assert row["choice"] == "signal" == min(masked, key=masked.get)


def test_pt_with_fixed_uniform_alpha_finds_the_signal_op(tmp_path):
    optimizer = FixedOptimizer({})
    run, supernet, trainer = searched(tmp_path, optimizer)
    assert optimizer.logits().eq(0).all()  # nothing to read from α: the choice is PT's alone
    selection = PTSelector({"proj_intv": 1}).select(selection_context(run, supernet, optimizer, trainer))
    assert selection.arch == (SIGNAL, SIGNAL)

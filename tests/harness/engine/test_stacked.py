"""Stacked seeds against the same seeds trained one by one: weights, architecture state, momentum.

Two seeds of a tiny linear supernet train one epoch alone (the ``Trainer``) and as one
stack; every tensor must come out the same. Gradient clipping is set low enough that both
seeds are clipped, by different factors, so clipping the stack as a whole would not pass.
"""
from __future__ import annotations

import pytest
import torch
from tiny import LinearSupernet, TinySpace, tiny_run

from harness import Trainer
from harness.engine.stacked import StackedTrainer, unstackable_reason
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.darts.optimizer import DartsOptimizer, FixedOptimizer

CLIP = 0.05


class StackableLinear(LinearSupernet):
    stackable = True


class StackableSpace(TinySpace):
    def build_supernet(self, dataset, options):
        return StackableLinear(self.num_edges, self.num_ops, dataset.channels * dataset.image_size ** 2,
                               dataset.num_classes)


def trainer(tmp_path, seed, make_optimizer, space=None):
    run = tiny_run(tmp_path, {"grad_clip": CLIP}, seed=seed)
    space = space or StackableSpace()
    torch.manual_seed(seed)
    supernet = space.build_supernet(run.dataset, {})
    optimizer = make_optimizer()
    optimizer.attach(space, supernet, run)
    return Trainer(run, supernet, optimizer)


def clipped_norm_ratio(solo: Trainer) -> float:
    """How far the first step's gradient norm is above the clip (> 1: clipping acts)."""
    x, y = next(solo.train_stream)
    solo.loss((x, y), solo.optimizer.mixing_weights(True).detach()).backward()
    norm = torch.cat([p.grad.flatten() for p in solo.supernet.parameters()]).norm()
    solo.supernet.zero_grad(set_to_none=True)
    return float(norm) / CLIP


OPTIMIZERS = {
    "darts": lambda: DartsOptimizer({}),
    "balenas": lambda: BalenasOptimizer({"samples": 3}),
    "fixed": lambda: FixedOptimizer({}),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_stacked_epoch_equals_each_seed_trained_alone(tmp_path, name):
    make = OPTIMIZERS[name]
    alone = [trainer(tmp_path, seed, make) for seed in (0, 1)]
    ratios = [clipped_norm_ratio(trainer(tmp_path, seed, make)) for seed in (0, 1)]
    assert min(ratios) > 1 and abs(ratios[0] - ratios[1]) > 0.1  # both clipped, by different factors
    solo_stats = [solo.train_epoch() for solo in alone]
    stacked = [trainer(tmp_path, seed, make) for seed in (0, 1)]
    stats = StackedTrainer(stacked).train_epoch()

    for solo, twin, seed_stats, own in zip(alone, stacked, stats, solo_stats):
        for (name_a, a), (name_b, b) in zip(solo.supernet.state_dict().items(), twin.supernet.state_dict().items()):
            assert name_a == name_b
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
        for p, q in zip(solo.supernet.parameters(), twin.supernet.parameters()):
            torch.testing.assert_close(twin.momentum_buffer(q), solo.momentum_buffer(p), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(twin.optimizer.logits(), solo.optimizer.logits(), rtol=1e-5, atol=1e-7)
        for key, value in solo.optimizer.summary().items():
            assert twin.optimizer.summary()[key] == pytest.approx(value, rel=1e-5)
        assert twin.train_stream.state_dict()["position"] == solo.train_stream.state_dict()["position"]
        assert seed_stats["train_loss"] == pytest.approx(own["train_loss"], rel=1e-5)
        assert seed_stats["train_acc"] == own["train_acc"]
        assert twin.images_seen == solo.images_seen
    assert not torch.equal(stacked[0].optimizer.logits(), stacked[1].optimizer.logits()) or name == "fixed"


def test_each_stacked_seed_is_credited_an_equal_share_of_the_epochs_time(tmp_path, monkeypatch):
    stacked = [trainer(tmp_path, seed, OPTIMIZERS["darts"]) for seed in (0, 1)]
    clock = iter([100.0, 103.0])  # the epoch's start and end: 3 s for both seeds
    monkeypatch.setattr("harness.engine.trainer.time.perf_counter", lambda: next(clock))
    StackedTrainer(stacked).train_epoch()
    assert [t.seconds for t in stacked] == [1.5, 1.5]


def test_balenas_draws_each_seeds_noise_from_its_own_generator(tmp_path):
    alone = [trainer(tmp_path, seed, OPTIMIZERS["balenas"]) for seed in (0, 1)]
    for solo in alone:
        solo.train_epoch()
    stacked = [trainer(tmp_path, seed, OPTIMIZERS["balenas"]) for seed in (0, 1)]
    StackedTrainer(stacked).train_epoch()
    for solo, twin in zip(alone, stacked):
        assert torch.equal(twin.optimizer.generator.get_state(), solo.optimizer.generator.get_state())
        torch.testing.assert_close(twin.optimizer.sigma(), solo.optimizer.sigma(), rtol=1e-5, atol=1e-7)


def test_what_cannot_be_stacked_says_why(tmp_path):
    plain = [trainer(tmp_path, seed, OPTIMIZERS["darts"], TinySpace()) for seed in (0, 1)]
    assert "does not declare itself stackable" in unstackable_reason(plain)
    second_order = [trainer(tmp_path, seed, lambda: DartsOptimizer({"order": 2})) for seed in (0, 1)]
    assert "cannot be stacked" in unstackable_reason(second_order)
    assert unstackable_reason(second_order[:1]) == "only one seed to run"
    with pytest.raises(ValueError, match="cannot stack these seeds"):
        StackedTrainer(second_order)

"""Seeds in lockstep (``ConcurrentSeeds``) against the same seeds trained one after another: on a
CPU, where they alternate, bit for bit; on a GPU, each on its stream replaying its CUDA graph."""
from __future__ import annotations

import math

import pytest
import torch
from small_nb201 import nb201_trainer

from harness.engine.concurrent import ConcurrentSeeds
from harness.engine.stacked import StackedTrainer, seed_stack
from plugins.balenas.optimizer import BalenasOptimizer

SEEDS = (0, 1)


def states(trainer) -> list[torch.Tensor]:
    momentum = [trainer.momentum_buffer(p) for p in trainer.weight_parameters()]
    return [*trainer.supernet.state_dict().values(), *momentum, trainer.optimizer.logits()]


def test_seeds_in_lockstep_train_as_they_do_alone_on_the_cpu(tmp_path):
    make = {"darts": lambda seed: nb201_trainer(tmp_path, seed=seed),
            "balenas": lambda seed: nb201_trainer(tmp_path, seed=seed, optimizer=BalenasOptimizer({"samples": 2}))}
    for build in make.values():
        alone = [build(seed) for seed in SEEDS]
        expected = [[t.train_epoch() for _ in range(2)] for t in alone]
        together = ConcurrentSeeds([build(seed) for seed in SEEDS])
        stats = [together.train_epoch() for _ in range(2)]
        assert [[epoch[k] for epoch in stats] for k in range(len(SEEDS))] == expected
        for solo, twin in zip(alone, together.trainers):
            for a, b in zip(states(solo), states(twin), strict=True):
                assert torch.equal(a, b)
            assert twin.images_seen == solo.images_seen and twin.seconds > 0
        assert not torch.equal(together.trainers[0].optimizer.logits(), together.trainers[1].optimizer.logits())


def test_each_seed_is_credited_an_equal_share_of_the_lockstep_time(tmp_path, monkeypatch):
    together = ConcurrentSeeds([nb201_trainer(tmp_path, seed=seed) for seed in SEEDS])
    clock = iter([100.0, 103.0])  # the epoch's start and end: 3 s for both seeds
    monkeypatch.setattr("harness.engine.trainer.time.perf_counter", lambda: next(clock))
    together.train_epoch()
    assert [t.seconds for t in together.trainers] == [1.5, 1.5]


def test_a_diverged_seed_is_reported_not_raised(tmp_path):
    together = ConcurrentSeeds([nb201_trainer(tmp_path, seed=seed, lr=lr) for seed, lr in ((0, 0.025), (1, 1e30))])
    healthy, diverged = together.train_epoch()
    assert math.isfinite(healthy["train_loss"]) and not math.isfinite(diverged["train_loss"])


def test_without_cuda_graphs_seeds_stack_as_one_vmapped_model(tmp_path):
    assert isinstance(seed_stack([nb201_trainer(tmp_path, seed=seed) for seed in SEEDS]), StackedTrainer)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_graphed_seeds_on_streams_train_as_they_do_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    alone = [nb201_trainer(tmp_path, "cuda", seed, cuda_graphs=True) for seed in SEEDS]
    expected = [[t.train_epoch() for _ in range(3)] for t in alone]
    together = seed_stack([nb201_trainer(tmp_path, "cuda", seed, cuda_graphs=True) for seed in SEEDS])
    assert isinstance(together, ConcurrentSeeds) and together.streams is not None
    stats = [together.train_epoch() for _ in range(3)]
    assert together.captured is not None and together.captured.captures == 1
    for k, own in enumerate(expected):
        for epoch, seed_expected in zip(stats, own):
            assert epoch[k]["train_loss"] == pytest.approx(seed_expected["train_loss"], rel=1e-4)
    for solo, twin in zip(alone, together.trainers):
        for a, b in zip(states(solo), states(twin), strict=True):
            torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3 * float(a.abs().max()) + 1e-7)

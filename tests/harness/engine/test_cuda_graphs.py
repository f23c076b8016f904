"""``search.cuda_graphs``: the settings it refuses (on any machine), and on a GPU the replayed
steps against the same steps run eagerly — alone and stacked — across a learning-rate change
(a new capture) and a momentum reset (eager steps first, else SGD's "first step" branch
would be frozen into the graph)."""
from __future__ import annotations

import pytest
import torch
from small_nb201 import nb201_trainer as trainer

from harness import UserError
from harness.engine.stacked import StackedTrainer
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.darts.optimizer import DartsOptimizer

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def assert_near(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal up to float rounding and GPU reduction order, relative to the tensor's scale: a graph
    that froze a host decision (SGD's first-step momentum, an old learning rate) is off by O(1)."""
    torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max()) + 1e-7)


def test_settings_cuda_graphs_cannot_replay_are_refused_with_one_line(tmp_path):
    with pytest.raises(UserError, match="BalenasOptimizer .* cannot be replayed from a CUDA graph"):
        trainer(tmp_path, optimizer=BalenasOptimizer({}), cuda_graphs=True)
    with pytest.raises(UserError, match="DartsOptimizer .* cannot be replayed"):
        trainer(tmp_path, optimizer=DartsOptimizer({"order": 2}), cuda_graphs=True)
    with pytest.raises(UserError, match="cuda_graphs and search.compile both set"):
        trainer(tmp_path, cuda_graphs=True, compile="aot_eager")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="needs a CUDA device, not cpu"):
            trainer(tmp_path, cuda_graphs=True)


def run_steps(t, count: int, lr_change_at: int, reset_at: int) -> list[float]:
    """``count`` search steps (each on its own batches), halving the LR and resetting momentum on the way."""
    losses = []
    for step in range(count):
        if step == lr_change_at:
            for group in t.weight_optimizer.param_groups:
                group["lr"] *= 0.5
        if step == reset_at:
            t.reset_weight_momentum()
        train, valid = next(t.train_stream), next(t.valid_stream)
        loss, _ = t.search_step(train, valid)
        losses.append(float(loss))
    return losses


@pytest.mark.gpu
@CUDA
def test_replayed_steps_follow_the_eager_trajectory(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    eager = trainer(tmp_path, "cuda")
    graphed = trainer(tmp_path, "cuda", cuda_graphs=True)
    expected = run_steps(eager, 14, lr_change_at=6, reset_at=9)
    losses = run_steps(graphed, 14, lr_change_at=6, reset_at=9)
    assert graphed.captured is not None and graphed.captured.captures == 3  # first, new LR, after the reset
    assert losses == pytest.approx(expected, rel=1e-4)
    assert_near(graphed.optimizer.logits(), eager.optimizer.logits())
    for a, b in zip(eager.supernet.state_dict().values(), graphed.supernet.state_dict().values()):
        assert_near(b, a)
    for p, q in zip(eager.weight_parameters(), graphed.weight_parameters()):
        assert_near(graphed.momentum_buffer(q), eager.momentum_buffer(p))


@pytest.mark.gpu
@CUDA
def test_stacked_seeds_replayed_follow_their_eager_stack(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    eager = StackedTrainer([trainer(tmp_path, "cuda", seed) for seed in (0, 1)])
    graphed = StackedTrainer([trainer(tmp_path, "cuda", seed, cuda_graphs=True) for seed in (0, 1)])
    expected = [eager.train_epoch() for _ in range(2)]
    stats = [graphed.train_epoch() for _ in range(2)]
    assert graphed.captured is not None and graphed.captured.captures == 1
    for epoch, own in zip(stats, expected):
        for seed_stats, seed_expected in zip(epoch, own):
            assert seed_stats["train_loss"] == pytest.approx(seed_expected["train_loss"], rel=1e-4)
    for solo, twin in zip(eager.trainers, graphed.trainers):
        assert_near(twin.optimizer.logits(), solo.optimizer.logits())
        for a, b in zip(solo.supernet.state_dict().values(), twin.supernet.state_dict().values()):
            assert_near(b, a)


@pytest.mark.gpu
@CUDA
def test_a_step_that_syncs_with_the_host_is_a_user_error(tmp_path):
    t = trainer(tmp_path, "cuda", cuda_graphs=True)
    step = t.captured.step
    t.captured.step = lambda *inputs: (step(*inputs)[0].item(), None)  # .item() cannot be captured
    batches = [(next(t.train_stream), next(t.valid_stream)) for _ in range(5)]
    with pytest.raises(UserError, match="cannot be captured as a CUDA graph"):
        for train, valid in batches:
            t.search_step(train, valid)

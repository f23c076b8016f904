"""``search.cuda_graphs``: the settings it refuses (on any machine), and on a GPU the replayed
steps against the same steps run eagerly — alone and stacked — across a learning-rate change
(a new capture) and a momentum reset (eager steps first, else SGD's "first step" branch
would be frozen into the graph)."""
from __future__ import annotations

import pytest
import torch

from harness import DatasetInfo, ImageSet, RunContext, SearchData, Trainer, UserError
from harness.engine.stacked import StackedTrainer
from harness.experiment.config import DEFAULTS, merge
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.darts.optimizer import DartsOptimizer
from plugins.nb201.space import NB201Space

INFO = DatasetInfo("tiny", num_classes=3, channels=3, image_size=8, mean=(0.5,) * 3, std=(0.25,) * 3, augment=True)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def trainer(tmp_path, device: str = "cpu", seed: int = 0, optimizer=None, **search) -> Trainer:
    config = merge(DEFAULTS, {"search": {"epochs": 2, "batch_size": 8, "grad_clip": 0.5, **search}})
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 3, (64,), generator=generator)
    data = SearchData.split(INFO, ImageSet(images, labels), ImageSet(images[:8], labels[:8]), seed, torch.device(device))
    space = NB201Space()
    run = RunContext(config, None, space, INFO, data, torch.device(device), seed, tmp_path, None)
    torch.manual_seed(seed)
    supernet = space.build_supernet(INFO, {"C": 4, "N": 1}).to(device)
    optimizer = optimizer or DartsOptimizer({})
    optimizer.attach(space, supernet, run)
    return Trainer(run, supernet, optimizer)


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
    torch.testing.assert_close(graphed.optimizer.logits(), eager.optimizer.logits(), rtol=1e-4, atol=1e-6)
    for a, b in zip(eager.supernet.state_dict().values(), graphed.supernet.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    for p, q in zip(eager.weight_parameters(), graphed.weight_parameters()):
        torch.testing.assert_close(graphed.momentum_buffer(q), eager.momentum_buffer(p), rtol=1e-4, atol=1e-5)


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
        torch.testing.assert_close(twin.optimizer.logits(), solo.optimizer.logits(), rtol=1e-4, atol=1e-6)
        for a, b in zip(solo.supernet.state_dict().values(), twin.supernet.state_dict().values()):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


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

"""The search protocol's wiring, checked by where the data comes from and by hand-computed steps.

A change that hands the architecture step a training batch, makes the validation half
equal to the train half, drops gradient clipping or lets evaluation disturb BatchNorm
would not change any formula; these tests look at which examples each step saw and at
what one weight step does to the weights.
"""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from tiny import INFO, TinySpace, tiny_run, toy_data

from harness import ArchOptimizer, SearchData, SearchStep, Trainer
from plugins.darts.optimizer import FixedOptimizer


def rows(images: torch.Tensor) -> set[tuple[float, ...]]:
    """Each example as a hashable tuple (the toy data is continuous, so no two rows coincide)."""
    return {tuple(row) for row in images.flatten(1).tolist()}


class RecordingOptimizer(ArchOptimizer):
    """Uniform op weights; each architecture step only records the batches it was handed."""

    def __init__(self) -> None:
        super().__init__({})
        self.steps: list[SearchStep] = []
        self.mixing_calls: list[bool] = []

    def attach(self, space, supernet, run):
        self.alpha = torch.zeros(space.num_edges, space.num_ops)

    def mixing_weights(self, training):
        self.mixing_calls.append(training)
        return torch.softmax(self.alpha, -1)

    def logits(self):
        return self.alpha

    def step(self, step):
        self.steps.append(step)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        return None


class RecordingSupernet(torch.nn.Module):
    """Wraps a supernet and keeps every input it is called with while grad mode is on (weight steps)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.trained_on: list[torch.Tensor] = []

    def forward(self, x, weights):
        if torch.is_grad_enabled():
            self.trained_on.append(x.detach().clone())
        return self.inner(x, weights)


def recording_trainer(tmp_path, **search):
    run = tiny_run(tmp_path, search)
    supernet = RecordingSupernet(run.space.build_supernet(run.dataset, {}))
    optimizer = RecordingOptimizer()
    optimizer.attach(run.space, supernet, run)
    return run, supernet, optimizer, Trainer(run, supernet, optimizer)


def test_split_halves_are_disjoint_and_cover_the_training_set():
    train, test = toy_data(n=64)
    data = SearchData.split(INFO, train, test, seed=3, device=torch.device("cpu"))
    assert len(data.train) == len(data.valid) == 32
    assert rows(data.train.images).isdisjoint(rows(data.valid.images))
    assert rows(data.train.images) | rows(data.valid.images) == rows(train.images)
    assert torch.equal(data.test.images, test.images) and data.info is INFO
    other = SearchData.split(INFO, train, test, seed=4, device=torch.device("cpu"))
    assert rows(other.train.images) != rows(data.train.images), "the split must depend on the seed"


def test_split_keeps_each_image_with_its_label():
    train, test = toy_data(n=64)
    data = SearchData.split(INFO, train, test, seed=0, device=torch.device("cpu"))
    for half in (data.train, data.valid):
        torch.testing.assert_close(half.labels, (half.images.flatten(1).sum(1) > 0).long(), rtol=0, atol=0)


def test_architecture_steps_see_validation_batches_and_weight_steps_training_batches(tmp_path):
    run, supernet, optimizer, trainer = recording_trainer(tmp_path)
    train_rows, valid_rows = rows(run.data.train.images), rows(run.data.valid.images)

    trainer.train_epoch()

    assert len(optimizer.steps) == trainer.steps_per_epoch() == len(supernet.trained_on) == 4
    for step, weight_batch in zip(optimizer.steps, supernet.trained_on):
        assert rows(step.val_batch[0]) <= valid_rows
        assert rows(step.train_batch[0]) <= train_rows
        assert rows(weight_batch) <= train_rows
        assert torch.equal(weight_batch, step.train_batch[0]), "the weight step uses the step's train batch"
    assert set().union(*(rows(s.val_batch[0]) for s in optimizer.steps)) == valid_rows
    assert [s.step for s in optimizer.steps] == [0, 1, 2, 3]
    assert trainer.images_seen == 4 * 8 + 4 * 8  # weight-step and architecture-step images

    trainer.scheduler.step()
    trainer.train_epoch()
    assert [s.epoch for s in optimizer.steps] == [0] * 4 + [1] * 4
    assert trainer.images_seen == 2 * 64


def test_without_architecture_updates_no_validation_batch_is_drawn(tmp_path):
    run, supernet, optimizer, trainer = recording_trainer(tmp_path)
    state = trainer.valid_stream.state_dict()
    trainer.train_epoch(update_arch=False)
    assert optimizer.steps == [] and len(supernet.trained_on) == 4
    assert trainer.valid_stream.state_dict()["position"] == state["position"]
    assert optimizer.mixing_calls == [True] * 4  # weight steps mix with the training-time weights (PGNAS' gates)
    trainer.evaluate("valid")
    assert optimizer.mixing_calls[4:] == [False]


class RegularizedOptimizer(RecordingOptimizer):
    """Single level: θ joins the weight optimizer and R(θ) = c·θ²/2 is added to the training loss."""

    bilevel = False

    def attach(self, space, supernet, run):
        super().attach(space, supernet, run)
        self.theta = torch.tensor(2.0, requires_grad=True)

    def parameters(self):
        return [self.theta]

    def regularizer(self, weights=None):
        return 3.0 * self.theta ** 2 / 2


def test_single_level_parameters_train_on_the_loss_plus_the_regularizer(tmp_path):
    run = tiny_run(tmp_path, {"momentum": 0.0, "weight_decay": 0.1, "grad_clip": 1e3, "max_steps_per_epoch": 1})
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = RegularizedOptimizer()
    optimizer.attach(run.space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    trainer.train_epoch()
    # ∂R/∂θ = 3θ = 6; no weight decay on θ: θ ← 2 − 0.025·6
    assert float(optimizer.theta.detach()) == pytest.approx(2 - 0.025 * 6)
    assert optimizer.steps == []


def fixed_trainer(tmp_path, **search):
    run = tiny_run(tmp_path, {"momentum": 0.0, "weight_decay": 0.0, "batch_size": 32, **search})
    torch.manual_seed(0)
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = FixedOptimizer({})
    optimizer.attach(run.space, supernet, run)
    return run, supernet, Trainer(run, supernet, optimizer)


def one_step_change(tmp_path, grad_clip: float) -> tuple[float, float]:
    """(‖Δw‖ of one plain SGD weight step, ‖∇w L‖ on the batch it used)."""
    run, supernet, trainer = fixed_trainer(tmp_path, grad_clip=grad_clip, max_steps_per_epoch=1)
    before = [p.detach().clone() for p in supernet.parameters()]
    batch = peek_train_batch(trainer)
    weights = torch.full((2, 3), 1 / 3)
    loss = torch.nn.functional.cross_entropy(supernet(batch[0], weights), batch[1])
    grad_norm = torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(supernet.parameters()))]).norm()
    trainer.train_epoch()
    change = torch.cat([(p.detach() - b).flatten() for p, b in zip(supernet.parameters(), before)]).norm()
    return float(change), float(grad_norm)


def peek_train_batch(trainer: Trainer):
    """The next training batch the trainer will draw, without consuming it."""
    stream = trainer.train_stream
    state = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in stream.state_dict().items()}
    batch = next(stream)
    stream.load_state_dict(state)
    return batch


def test_weight_step_clips_the_gradient_norm(tmp_path):
    lr = 0.025
    change, grad_norm = one_step_change(tmp_path, grad_clip=1e-3)
    assert grad_norm > 1e-2, "the test needs a gradient well above the clip"
    assert math.isclose(change, lr * 1e-3, rel_tol=1e-3)  # ‖Δw‖ = lr · clip

    change, grad_norm = one_step_change(tmp_path, grad_clip=1e3)
    assert math.isclose(change, lr * grad_norm, rel_tol=1e-3)  # below the clip: ‖Δw‖ = lr · ‖g‖


def test_learning_rate_override_applies_inside_the_epoch_and_is_restored(tmp_path):
    run, supernet, trainer = fixed_trainer(tmp_path, grad_clip=1e3, max_steps_per_epoch=1)
    before = [p.detach().clone() for p in supernet.parameters()]
    trainer.train_epoch(lr=0.5)
    other_run, other_supernet, other = fixed_trainer(tmp_path, grad_clip=1e3, max_steps_per_epoch=1)
    other.train_epoch()
    changes = [torch.cat([(p.detach() - b).flatten() for p, b in zip(net.parameters(), before)]).norm()
               for net in (supernet, other_supernet)]
    assert math.isclose(float(changes[0]) / float(changes[1]), 0.5 / 0.025, rel_tol=1e-4)
    assert trainer.current_lr() == 0.025


def test_weight_steps_are_sgd_with_momentum_and_weight_decay(tmp_path):
    """Two steps written out: b₁ = g₁ + λw₀, w₁ = w₀ − ηb₁; b₂ = μb₁ + g₂ + λw₁, w₂ = w₁ − ηb₂."""
    lr, momentum, decay = 0.05, 0.9, 0.01
    run, supernet, trainer = fixed_trainer(tmp_path, lr=lr, momentum=momentum, weight_decay=decay, grad_clip=1e3,
                                           batch_size=16, max_steps_per_epoch=2)
    weights = torch.full((2, 3), 1 / 3)
    stream = trainer.train_stream
    saved = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in stream.state_dict().items()}
    batches = [next(stream), next(stream)]
    stream.load_state_dict(saved)
    params = [p.detach().clone() for p in supernet.parameters()]
    buffers = [torch.zeros_like(p) for p in params]
    for step, (x, y) in enumerate(batches):
        live = [p.clone().requires_grad_(True) for p in params]
        names = [n for n, _ in supernet.named_parameters()]
        logits = torch.func.functional_call(supernet, dict(zip(names, live)), (x, weights))
        grads = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, y), live)
        for i, (p, g) in enumerate(zip(params, grads)):
            direction = g + decay * p
            buffers[i] = direction if step == 0 else momentum * buffers[i] + direction
            params[i] = p - lr * buffers[i]

    trainer.train_epoch()

    for expected, actual in zip(params, supernet.parameters()):
        torch.testing.assert_close(actual.detach(), expected, rtol=1e-5, atol=1e-7)


def test_cosine_schedule_per_epoch(tmp_path):
    """lr_e = lr_min + (lr − lr_min)(1 + cos(π e / T)) / 2 after e scheduler steps (CosineAnnealingLR)."""
    run, supernet, trainer = fixed_trainer(tmp_path, epochs=4, lr=0.1, lr_min=0.01)
    seen = []
    for _ in range(4):
        seen.append(trainer.current_lr())
        trainer.train_epoch()
        trainer.scheduler.step()
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert seen == pytest.approx(expected, rel=1e-9)

    run, supernet, single = fixed_trainer(tmp_path, epochs=1, lr=0.1, lr_min=0.01)
    single.train_epoch()
    single.scheduler.step()
    assert single.current_lr() == pytest.approx(0.01)  # one epoch: T = 1, the minimum after it


def test_streams_augment_as_the_dataset_says_and_amp_follows_the_setting(tmp_path):
    run, supernet, trainer = fixed_trainer(tmp_path, amp=True)
    assert not trainer.train_stream.augment and not trainer.valid_stream.augment
    assert trainer.amp is True  # bfloat16 autocast on the CPU too (CPUs with bfloat16 support)
    assert fixed_trainer(tmp_path, amp=False)[2].amp is False
    augmented = replace(run, dataset=replace(run.dataset, augment=True))
    other = Trainer(augmented, supernet, FixedOptimizer({}))
    assert other.train_stream.augment and other.valid_stream.augment


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_amp_runs_the_supernet_under_bfloat16_autocast_on_cuda(tmp_path):
    class AutocastProbe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(4, 2)
            self.autocast: list[bool] = []

        def forward(self, x, weights):
            self.autocast.append(torch.is_autocast_enabled("cuda") and torch.get_autocast_dtype("cuda") == torch.bfloat16)
            return self.head(x.flatten(1))

    run = replace(tiny_run(tmp_path, {"amp": True}), device=torch.device("cuda"))
    run.data.train, run.data.valid = run.data.train.to(run.device), run.data.valid.to(run.device)
    probe = AutocastProbe().cuda()
    optimizer = FixedOptimizer({})
    optimizer.attach(TinySpace(), probe, run)
    trainer = Trainer(run, probe, optimizer)
    assert trainer.amp
    trainer.train_epoch()
    assert probe.autocast and all(probe.autocast)


def test_evaluation_leaves_batchnorm_statistics_alone_and_measures_the_named_split(tmp_path):
    class BNSupernet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(4)
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x, weights):
            return self.head(self.bn(x.flatten(1)))

    run = tiny_run(tmp_path)
    supernet = BNSupernet()
    optimizer = FixedOptimizer({})
    optimizer.attach(TinySpace(), supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    state = {k: v.clone() for k, v in supernet.state_dict().items()}
    for bn_train in (False, True):
        acc, loss = trainer.evaluate("test", bn_train=bn_train)
        for key, value in supernet.state_dict().items():
            assert torch.equal(value, state[key]), key
    x, y = run.data.test.images.flatten(1), run.data.test.labels
    supernet.eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(supernet.head(supernet.bn(x)), y)
    acc, loss = trainer.evaluate("test")
    assert math.isclose(loss, float(expected), rel_tol=1e-5)
    assert supernet.training, "evaluation puts the supernet back in training mode"


def test_epoch_statistics_are_the_loss_and_accuracy_over_the_train_half(tmp_path):
    # lr 0 keeps the weights fixed, and 4 batches of 8 cover the 32 training examples once
    run, supernet, trainer = fixed_trainer(tmp_path, lr=0.0, lr_min=0.0, batch_size=8)
    x, y = run.data.train.images, run.data.train.labels
    with torch.no_grad():
        logits = supernet(x, torch.full((2, 3), 1 / 3))
    ticks = []
    stats = trainer.train_epoch(progress=ticks.append)
    assert ticks == [1, 1, 1, 1]
    assert stats["train_loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert stats["train_acc"] == pytest.approx(100.0 * float((logits.argmax(1) == y).float().mean()))
    assert 0 < stats["train_acc"] < 100, "the check needs an accuracy strictly between 0 and 100"


def test_seconds_and_images_per_second_accumulate_over_epochs(tmp_path, monkeypatch):
    import harness.engine.trainer as trainer_module

    clock = iter(range(0, 1000, 5))  # every perf_counter() call advances 5 s
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: float(next(clock)))
    run, supernet, trainer = fixed_trainer(tmp_path, batch_size=8)
    assert trainer.images_per_second() == 0.0
    trainer.train_epoch()
    trainer.train_epoch()
    assert trainer.seconds == 10.0 and trainer.images_seen == 64
    assert trainer.images_per_second() == 6.4


@pytest.mark.parametrize("bias, reason", [(float("nan"), "nan"), (-3e38, "inf")])
def test_a_non_finite_training_loss_is_a_divergence(tmp_path, bias, reason):
    from harness import DivergedError

    run, supernet, trainer = fixed_trainer(tmp_path, batch_size=8)
    with torch.no_grad():
        supernet.head.weight.zero_()
        supernet.head.bias.copy_(torch.tensor([0.0, bias]))  # class 1 gets logit −3e38: loss 3e38 per example
    with pytest.raises(DivergedError, match=f"training loss became {reason} "):
        trainer.train_epoch()


def test_batch_streams_follow_their_own_seed_and_cover_the_data_once_per_pass():
    from harness import BatchStream

    train, _ = toy_data(n=24)

    def first_batches(global_seed: int) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)  # the stream must not draw from the global generator
        stream = BatchStream(train, INFO, 8, seed=3)
        return [next(stream)[0] for _ in range(6)]

    a, b = first_batches(0), first_batches(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert rows(torch.cat(a[:3])) == rows(train.images) == rows(torch.cat(a[3:]))  # each pass: every example once
    assert BatchStream(train, INFO, 8, seed=3).batches_per_pass() == 3
    assert BatchStream(train, INFO, 24, seed=3).batches_per_pass() == 1
    assert BatchStream(train, INFO, 100, seed=3).batches_per_pass() == 1  # batch capped at the data size


def test_augmentation_shifts_by_at_most_the_datasets_crop_padding():
    from harness import BatchStream, DatasetInfo, ImageSet

    info = DatasetInfo("dot", num_classes=1, channels=1, image_size=8, mean=(0.0,), std=(1.0,), augment=True,
                       crop_padding=1)
    images = torch.zeros(16, 1, 8, 8)
    images[:, 0, 4, 4] = 1.0
    stream = BatchStream(ImageSet(images, torch.zeros(16, dtype=torch.long)), info, 16, seed=0, augment_batches=True)
    rows_seen = set()
    for _ in range(10):
        x, _ = next(stream)
        dots = x.nonzero()
        assert len(dots) == 16  # a shift of one pixel never crops the dot away
        rows_seen |= set(dots[:, 2].tolist())
    assert rows_seen == {3, 4, 5}

"""DARTS' architecture update against hand-computed values, and the unrolled gradient
against the exact gradient through the virtual step."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tiny import TinySpace, tiny_run

from harness import SearchStep, Trainer, arch_gradient
from plugins.darts.optimizer import DartsOptimizer, FixedOptimizer
from plugins.darts.selectors import ArgmaxSelector, RandomSelector


def make(tmp_path, order=1, **search):
    run = tiny_run(tmp_path, search)
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = DartsOptimizer({"order": order})
    optimizer.attach(run.space, supernet, run)
    return run, supernet, optimizer, Trainer(run, supernet, optimizer)


class ParameterRecorder(torch.nn.Module):
    """The tiny supernet plus one weight no op uses; records all weights at every forward call."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.unused = torch.nn.Parameter(torch.full((3,), 2.0))
        self.calls: list[torch.Tensor] = []

    def forward(self, x, weights):
        self.calls.append(torch.cat([p.detach().flatten() for p in self.parameters()]))
        return self.inner(x, weights)


def recorded_unrolled_gradient(tmp_path):
    run = tiny_run(tmp_path, {"lr": 0.05, "weight_decay": 0.1})
    supernet = ParameterRecorder(run.space.build_supernet(run.dataset, {}))
    optimizer = DartsOptimizer({"order": 2})
    optimizer.attach(run.space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    step = SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream))
    alpha = torch.randn(2, 3, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    gradient = arch_gradient(step, alpha, lambda a: torch.softmax(a, -1), unrolled=True)
    return supernet, gradient


def test_unrolled_gradient_tolerates_unused_weights_which_only_decay_in_the_virtual_step(tmp_path):
    supernet, gradient = recorded_unrolled_gradient(tmp_path)
    assert torch.isfinite(gradient).all()
    before, virtual = supernet.calls[0], supernet.calls[1]  # L_train at w, then L_val at w'
    unused = slice(0, 3)  # the root module's own parameter comes first
    torch.testing.assert_close(virtual[unused], before[unused] * (1 - 0.05 * 0.1))  # w' = w − ξλw
    assert torch.equal(torch.cat([p.detach().flatten() for p in supernet.parameters()]), before), "restored"


def test_finite_difference_displacement_has_norm_0_01(tmp_path):
    """ε = 0.01/‖∇w' L_val‖ moves the weights by ±ε∇w' L_val: a displacement of norm exactly 0.01."""
    supernet, _ = recorded_unrolled_gradient(tmp_path)
    start, plus, minus = supernet.calls[0], supernet.calls[2], supernet.calls[3]
    assert float((plus - start).norm()) == pytest.approx(0.01, rel=1e-3)
    assert float((minus - start).norm()) == pytest.approx(0.01, rel=1e-3)


def test_arch_gradient_is_first_order_unless_asked(tmp_path):
    run, supernet, optimizer, trainer = make(tmp_path)
    step = SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream))
    alpha = torch.randn(2, 3, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(supernet(step.val_batch[0], torch.softmax(alpha, -1)), step.val_batch[1])
    expected = torch.autograd.grad(loss, alpha)[0]
    torch.testing.assert_close(arch_gradient(step, alpha, lambda a: torch.softmax(a, -1)), expected)


def test_first_order_step_is_adam_on_the_validation_gradient(tmp_path):
    run, supernet, optimizer, trainer = make(tmp_path)
    train_batch, val_batch = next(trainer.train_stream), next(trainer.valid_stream)
    alpha0 = optimizer.alpha.detach().clone()

    alpha = alpha0.clone().requires_grad_(True)
    x, y = val_batch
    loss = torch.nn.functional.cross_entropy(supernet(x, torch.softmax(alpha, -1)), y)
    g = torch.autograd.grad(loss, alpha)[0].numpy().astype(np.float64)

    optimizer.step(SearchStep(trainer, train_batch, val_batch))

    lr, (b1, b2), wd, eps = 3e-4, (0.5, 0.999), 1e-3, 1e-8
    g = g + wd * alpha0.numpy()
    m_hat = (1 - b1) * g / (1 - b1)
    v_hat = (1 - b2) * g ** 2 / (1 - b2)
    expected = alpha0.numpy() - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(optimizer.alpha.detach().numpy(), expected, rtol=1e-5, atol=1e-7)


def test_several_steps_follow_a_numpy_adam_with_darts_betas(tmp_path):
    """Five steps on different validation batches against Adam written out in numpy with the
    reference's betas (0.5, 0.999); one step alone would cancel the betas out."""
    run, supernet, optimizer, trainer = make(tmp_path)
    lr, (b1, b2), wd, eps = 3e-4, (0.5, 0.999), 1e-3, 1e-8
    with torch.no_grad():  # α of order 1, so that Adam's weight decay (1e-3·α) is visible next to the gradient
        optimizer.alpha.copy_(2 * torch.randn(2, 3, generator=torch.Generator().manual_seed(4)))
    alpha = optimizer.alpha.detach().double().numpy().copy()
    m, v = np.zeros_like(alpha), np.zeros_like(alpha)
    for t in range(1, 6):
        train_batch, val_batch = next(trainer.train_stream), next(trainer.valid_stream)
        current = optimizer.alpha.detach().clone().requires_grad_(True)
        x, y = val_batch
        loss = torch.nn.functional.cross_entropy(supernet(x, torch.softmax(current, -1)), y)
        g = torch.autograd.grad(loss, current)[0].double().numpy() + wd * alpha
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = alpha - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)

        optimizer.step(SearchStep(trainer, train_batch, val_batch))
        np.testing.assert_allclose(optimizer.alpha.detach().numpy(), alpha, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("order", [1, 2])
def test_order_chooses_the_first_order_or_the_unrolled_gradient(tmp_path, monkeypatch, order):
    import plugins.darts.optimizer as module

    seen = []
    monkeypatch.setattr(module, "arch_gradient",
                        lambda step, logits, to_weights, unrolled=False: seen.append(unrolled) or torch.zeros_like(logits))
    run, supernet, optimizer, trainer = make(tmp_path, order=order)
    optimizer.step(SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream)))
    assert seen == [order == 2]


def test_unrolled_gradient_matches_exact_gradient_through_the_virtual_step(tmp_path):
    torch.set_default_dtype(torch.float64)
    try:
        run, supernet, optimizer, trainer = make(tmp_path, order=2, lr=0.05, weight_decay=3e-4)
        train_batch, val_batch = next(trainer.train_stream), next(trainer.valid_stream)
        train_batch = (train_batch[0].double(), train_batch[1])
        val_batch = (val_batch[0].double(), val_batch[1])
        alpha = torch.randn(2, 3).requires_grad_(True)
        step = SearchStep(trainer, train_batch, val_batch)

        approx = arch_gradient(step, alpha, lambda a: torch.softmax(a, -1), unrolled=True)

        params = list(supernet.parameters())
        xi, wd = 0.05, 3e-4
        train_loss = step.loss(train_batch, torch.softmax(alpha, -1))
        grads = torch.autograd.grad(train_loss, params, create_graph=True)
        unrolled = [p - xi * (g + wd * p) for p, g in zip(params, grads)]
        originals = {n: p for n, p in supernet.named_parameters()}
        names = list(originals)
        from torch.func import functional_call
        x, y = val_batch
        logits = functional_call(supernet, dict(zip(names, unrolled)), (x, torch.softmax(alpha, -1)))
        exact = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, y), alpha)[0]

        torch.testing.assert_close(approx, exact, rtol=1e-4, atol=1e-6)
        for name, p in supernet.named_parameters():
            assert torch.equal(p, originals[name]), "weights must be restored after the virtual step"
    finally:
        torch.set_default_dtype(torch.float32)


def test_unrolled_virtual_step_includes_the_weight_optimizers_momentum(tmp_path):
    """After a weight step SGD holds a momentum buffer b; the reference's virtual step is
    w' = w − ξ(∇w L_train + λw + μ_m b), so the unrolled gradient must match the exact one through it."""
    run, supernet, optimizer, trainer = make(tmp_path, order=2, lr=0.05, weight_decay=0.05, momentum=0.9)
    trainer.train_epoch(update_arch=False)  # weight steps only: fills the momentum buffers
    supernet.double()  # in place: the parameters (the optimizer state's keys) stay the same objects
    for state in trainer.weight_optimizer.state.values():
        state["momentum_buffer"] = state["momentum_buffer"].double()
    torch.set_default_dtype(torch.float64)
    try:
        params = list(supernet.parameters())
        buffers = [trainer.momentum_buffer(p) for p in params]
        assert all(b is not None and b.abs().sum() > 0 for b in buffers)
        train_batch, val_batch = next(trainer.train_stream), next(trainer.valid_stream)
        train_batch = (train_batch[0].double(), train_batch[1])
        val_batch = (val_batch[0].double(), val_batch[1])
        alpha = torch.randn(2, 3, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
        step = SearchStep(trainer, train_batch, val_batch)
        xi = trainer.current_lr()

        approx = arch_gradient(step, alpha, lambda a: torch.softmax(a, -1), unrolled=True)

        train_loss = step.loss(train_batch, torch.softmax(alpha, -1))
        grads = torch.autograd.grad(train_loss, params, create_graph=True)
        unrolled = [p - xi * (g + 0.05 * p + 0.9 * b) for p, g, b in zip(params, grads, buffers)]
        from torch.func import functional_call
        names = [n for n, _ in supernet.named_parameters()]
        logits = functional_call(supernet, dict(zip(names, unrolled)), (val_batch[0], torch.softmax(alpha, -1)))
        exact = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, val_batch[1]), alpha)[0]

        torch.testing.assert_close(approx, exact, rtol=1e-4, atol=1e-6)
    finally:
        torch.set_default_dtype(torch.float32)


def test_fixed_optimizer_mixes_uniformly_and_never_steps(tmp_path):
    run = tiny_run(tmp_path)
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = FixedOptimizer({})
    optimizer.attach(run.space, supernet, run)
    assert not optimizer.bilevel
    torch.testing.assert_close(optimizer.mixing_weights(True), torch.full((2, 3), 1 / 3))
    Trainer(run, supernet, optimizer).train_epoch()
    torch.testing.assert_close(optimizer.mixing_weights(False), torch.full((2, 3), 1 / 3))


def test_state_dict_round_trip_continues_identically(tmp_path):
    run, supernet, optimizer, trainer = make(tmp_path)
    trainer.train_epoch()
    state = copy.deepcopy(optimizer.state_dict())  # as a checkpoint on disk: no tensors shared
    _, _, other, other_trainer = make(tmp_path)
    other.load_state_dict(state)
    torch.testing.assert_close(other.alpha, optimizer.alpha)
    batch = (next(trainer.train_stream), next(trainer.valid_stream))
    optimizer.step(SearchStep(trainer, *batch))
    other.step(SearchStep(trainer, *batch))  # the same supernet: only the Adam state can differ
    torch.testing.assert_close(other.alpha, optimizer.alpha, rtol=0, atol=0)


def test_alpha_starts_as_init_scale_times_a_normal_draw_seeded_by_the_run(tmp_path):
    run, supernet, optimizer, trainer = make(tmp_path)
    expected = 1e-3 * torch.randn(2, 3, generator=torch.Generator().manual_seed(run.seed))
    torch.testing.assert_close(optimizer.alpha.detach(), expected, rtol=0, atol=0)
    assert optimizer.alpha.requires_grad
    torch.testing.assert_close(optimizer.logits(), expected, rtol=0, atol=0)
    torch.testing.assert_close(optimizer.mixing_weights(training=True), torch.softmax(expected, -1))


def test_summary_is_the_mean_largest_op_probability(tmp_path):
    run, supernet, optimizer, trainer = make(tmp_path)
    with torch.no_grad():
        optimizer.alpha.copy_(torch.tensor([[0.0, 0.0, 0.0], [np.log(2.0), 0.0, 0.0]]))
    # edge 1: 1/3; edge 2: softmax(ln 2, 0, 0) = (1/2, 1/4, 1/4)
    assert optimizer.summary() == {"max_prob_mean": pytest.approx((1 / 3 + 1 / 2) / 2)}


class _Ctx:
    def __init__(self, logits, seed=0):
        self.space = TinySpace()
        self.optimizer = type("O", (), {"logits": lambda self: logits})()
        self.rng = np.random.default_rng(seed)


def test_argmax_selector_takes_the_largest_score_per_edge():
    logits = torch.tensor([[0.1, 0.9, 0.0], [2.0, -1.0, 1.9]])
    assert ArgmaxSelector({}).select(_Ctx(logits)).arch == (1, 0)


def test_random_selector_is_seeded_and_valid():
    first = RandomSelector({}).select(_Ctx(None, seed=3)).arch
    assert first == RandomSelector({}).select(_Ctx(None, seed=3)).arch
    assert len(first) == 2 and all(0 <= op < 3 for op in first)


def test_optionless_selectors_reject_stray_options():
    from harness import UserError

    with pytest.raises(UserError, match="selector argmax: takes no options, got 'proj_intv'"):
        ArgmaxSelector({"proj_intv": 1})

"""The GPU-path settings of the trainer, checked on the CPU: channels_last, torch.compile
(aot_eager needs no compiler), bfloat16 autocast, cuDNN autotuning; each against the plain trainer."""
from __future__ import annotations

import pytest
import torch
from small_nb201 import nb201_trainer
from tiny import tiny_run
from torch.utils._python_dispatch import TorchDispatchMode

from harness import Trainer, UserError
from plugins.darts.optimizer import DartsOptimizer


def trainer(tmp_path, **search) -> Trainer:
    return nb201_trainer(tmp_path, max_steps_per_epoch=2, **search)


def train_twice(t: Trainer) -> tuple[torch.Tensor, torch.Tensor]:
    """(α after two steps, supernet logits on a fixed batch)."""
    t.train_epoch()
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        t.supernet.eval()
        logits = t.forward(x, t.optimizer.mixing_weights(training=False))
    return t.optimizer.alpha.detach().clone(), logits


def test_channels_last_trains_like_the_plain_trainer(tmp_path):
    plain_alpha, plain_logits = train_twice(trainer(tmp_path))
    t = trainer(tmp_path, channels_last=True)
    alpha, logits = train_twice(t)
    torch.testing.assert_close(alpha, plain_alpha, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(logits, plain_logits, rtol=1e-4, atol=1e-5)
    conv = t.supernet.stem[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()


def test_compiled_forward_trains_like_the_plain_trainer(tmp_path):
    # the tiny linear supernet: compiling NB201's forward and backward takes a minute on 2 cores
    def alpha_after_an_epoch(**search) -> tuple[torch.Tensor, Trainer]:
        run = tiny_run(tmp_path, search)
        torch.manual_seed(0)
        supernet = run.space.build_supernet(run.dataset, {})
        optimizer = DartsOptimizer({})
        optimizer.attach(run.space, supernet, run)
        t = Trainer(run, supernet, optimizer)
        t.train_epoch()
        return optimizer.alpha.detach().clone(), t

    expected, _ = alpha_after_an_epoch()
    alpha, t = alpha_after_an_epoch(compile="aot_eager")
    assert t.model is not t.supernet  # the forward went through torch.compile
    torch.testing.assert_close(alpha, expected, rtol=1e-5, atol=1e-7)


class OpCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def test_an_architecture_loss_without_weight_gradients_skips_them_in_a_compiled_backward(tmp_path):
    run = tiny_run(tmp_path, {"compile": "aot_eager"})
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = DartsOptimizer({})
    optimizer.attach(run.space, supernet, run)
    t = Trainer(run, supernet, optimizer)
    batch = next(t.valid_stream)

    def backward_ops(weight_grads: bool) -> tuple[int, torch.Tensor]:
        loss = t.loss(batch, optimizer.mixing_weights(training=True), weight_grads=weight_grads)
        with OpCounter() as counter:
            (grad,) = torch.autograd.grad(loss, optimizer.alpha)
        return counter.ops, grad

    backward_ops(True), backward_ops(False)  # compile both variants first
    (full, expected), (alpha_only, grad) = backward_ops(True), backward_ops(False)
    torch.testing.assert_close(grad, expected)
    assert alpha_only < full  # the compiled backward of the plain loss computes the weights' gradients too
    assert all(p.requires_grad for p in t.weight_parameters()) and len(t.weight_parameters()) > 0
    with pytest.raises(RuntimeError, match="not have been used in the graph"):  # the weights were constants
        torch.autograd.grad(t.loss(batch, optimizer.mixing_weights(training=True), weight_grads=False),
                            t.weight_parameters()[0])


def test_bfloat16_autocast_on_the_cpu(tmp_path):
    plain, amp = trainer(tmp_path), trainer(tmp_path, amp=True)
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    weights = plain.optimizer.mixing_weights(training=False)
    with torch.no_grad():
        expected, out = plain.forward(x, weights), amp.forward(x, weights)
    assert out.dtype == torch.float32  # logits come back in float32 for the loss
    assert not torch.equal(out, expected)  # computed in bfloat16 ...
    torch.testing.assert_close(out, expected, rtol=0.1, atol=0.1)  # ... to bfloat16's precision
    amp.train_epoch()  # and it trains


def test_bad_compile_settings_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not a torch.compile backend here; known: .*aot_eager"):
        trainer(tmp_path, compile="no-such-backend")
    with pytest.raises(UserError, match="compile_mode needs search.compile"):
        trainer(tmp_path, compile_mode="reduce-overhead")


def test_cudnn_benchmark_follows_the_setting_of_the_run_being_built(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)  # restored after the test
    trainer(tmp_path, cudnn_benchmark=True)
    assert torch.backends.cudnn.benchmark is True
    trainer(tmp_path)  # the next run, without the setting, does not inherit it
    assert torch.backends.cudnn.benchmark is False

"""The fused NB201 cell against the per-op cell (the oracle): outputs, gradients, BatchNorm
statistics and state-dict layout, in float64 so that any real difference shows."""
from __future__ import annotations

import pytest
import torch

from harness import DatasetInfo
from plugins.nb201.network import NB201Supernet
from plugins.nb201.space import NB201Space

SPACE = NB201Space()
INFO = DatasetInfo("tiny", num_classes=3, channels=2, image_size=8, mean=(0.0, 0.0), std=(1.0, 1.0))
NONE, SKIP, CONV1, CONV3, POOL = range(5)


@pytest.fixture(autouse=True)
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def pair(**options) -> tuple[NB201Supernet, NB201Supernet]:
    """A per-op supernet and a fused one holding the same weights (loaded through the state dict)."""
    torch.manual_seed(0)
    oracle = SPACE.build_supernet(INFO, {"C": 3, "N": 2, "cell": "per_op", **options})
    fused = SPACE.build_supernet(INFO, {"C": 3, "N": 2, **options})
    fused.load_state_dict(oracle.state_dict())
    return oracle, fused


def random_weights(shape: tuple[int, ...], zeros: bool, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    weights = torch.softmax(2 * torch.randn(*shape, generator=generator), -1)
    if zeros:  # PT's masks: a single op, a whole edge (a node left without input), a one-hot row
        weights[..., 0, CONV3] = 0.0
        weights[..., 2, :] = 0.0
        weights[..., 4, :] = torch.nn.functional.one_hot(torch.tensor(CONV1), 5).double()
        weights[..., 5, POOL] = 0.0
    return weights


def gradients(model: torch.nn.Module, x: torch.Tensor, weights: torch.Tensor):
    """(output, ∂/∂weights, ∂/∂parameters; a missing gradient counts as zero)."""
    model.zero_grad(set_to_none=True)
    weights = weights.clone().requires_grad_(True)
    out = model(x, weights)
    (out * torch.arange(1.0, out.shape[1] + 1)).sum().backward()
    grads = {name: p.grad if p.grad is not None else torch.zeros_like(p) for name, p in model.named_parameters()}
    return out, weights.grad, grads


@pytest.mark.parametrize("affine, track", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("per_example", [False, True])
@pytest.mark.parametrize("zeros", [False, True])
def test_fused_cell_equals_the_per_op_cell(affine, track, per_example, zeros):
    oracle, fused = pair(affine=affine, track_running_stats=track)
    x = torch.randn(5, INFO.channels, 8, 8, generator=torch.Generator().manual_seed(3))
    shape = (5, 6, 5) if per_example else (6, 5)
    for step, train in enumerate((True, True, False)):  # two training steps move the statistics, then eval
        oracle.train(train)
        fused.train(train)
        weights = random_weights(shape, zeros, seed=step)
        expected, expected_wgrad, expected_grads = gradients(oracle, x, weights)
        out, wgrad, grads = gradients(fused, x, weights)
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(wgrad, expected_wgrad, rtol=1e-10, atol=1e-10)
        assert grads.keys() == expected_grads.keys()
        for name, grad in expected_grads.items():
            torch.testing.assert_close(grads[name], grad, rtol=1e-10, atol=1e-10, msg=name)
        state, expected_state = fused.state_dict(), oracle.state_dict()
        assert list(state) == list(expected_state)
        for key, value in expected_state.items():
            torch.testing.assert_close(state[key], value, rtol=1e-12, atol=1e-12, msg=key)


def test_masked_weights_get_zero_gradient_and_leave_statistics_alone():
    _, fused = pair()
    weights = random_weights((6, 5), zeros=True, seed=0)
    before = {key: value.clone() for key, value in fused.state_dict().items()}
    _, wgrad, _ = gradients(fused, torch.randn(4, INFO.channels, 8, 8), weights)
    counts = weights != 0
    counts[:, NONE] = False  # the zero op adds nothing whatever its weight
    assert torch.all(wgrad[~counts] == 0) and torch.all(wgrad[counts] != 0)
    after = fused.state_dict()
    for key in before:
        if ".edges.0.nor_conv_3x3.2." in key:  # masked op on edge 0
            assert torch.equal(after[key], before[key]), key
        if ".edges.0.nor_conv_1x1.2.running_mean" in key:  # active op on edge 0
            assert not torch.equal(after[key], before[key]), key


def test_masked_forward_reads_nothing_on_the_host(monkeypatch):
    _, fused = pair()
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: pytest.fail("tolist() syncs with the device"))
    monkeypatch.setattr(torch.Tensor, "item", lambda self: pytest.fail("item() syncs with the device"))
    monkeypatch.setattr(torch.Tensor, "__bool__", lambda self: pytest.fail("bool() syncs with the device"))
    fused(torch.randn(2, INFO.channels, 8, 8), random_weights((6, 5), zeros=True, seed=0))


def test_same_modules_as_the_per_op_cell():
    oracle, fused = pair(affine=True)
    assert [name for name, _ in fused.named_parameters()] == [name for name, _ in oracle.named_parameters()]
    assert list(fused.state_dict()) == list(oracle.state_dict())


def test_cell_option_selects_the_implementation():
    assert SPACE.options({}).cell == "fused"
    oracle, fused = pair()
    assert oracle.cell_kind == "per_op" and fused.cell_kind == "fused"

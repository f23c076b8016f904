"""NB201's supernet under stacked seeds (vmap): logits, gradients and BatchNorm statistics per seed
equal each seed's own supernet, for the fused and the per-op cell."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.engine.stacked import StackedSupernet
from plugins.nb201.network import NB201Supernet

SEEDS = (0, 1, 2)


def supernets(cell):
    built = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        built.append(NB201Supernet(3, 10, 4, 1, affine=False, track_running_stats=True, cell=cell))
    return built


@pytest.mark.parametrize("cell", ["fused", "per_op"])
def test_stacked_supernet_equals_each_seeds_own(cell):
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(len(SEEDS), 16, 3, 8, 8, generator=generator)
    y = torch.randint(0, 10, (len(SEEDS), 16), generator=generator)
    weights = torch.softmax(torch.randn(len(SEEDS), 6, 5, generator=generator), dim=-1)
    alone = supernets(cell)
    stack = StackedSupernet(supernets(cell))
    stack.train(True)
    logits = stack(x, weights)
    F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").backward()
    for k, net in enumerate(alone):
        own = net(x[k], weights[k])
        F.cross_entropy(own, y[k], reduction="sum").backward()
        torch.testing.assert_close(logits[k], own, rtol=1e-5, atol=1e-5)
        for name, p in net.named_parameters():
            torch.testing.assert_close(stack.params[name].grad[k], p.grad, rtol=1e-4, atol=1e-5)
        for name, buffer in net.named_buffers():
            torch.testing.assert_close(stack.buffers[name][k], buffer, rtol=1e-5, atol=1e-6)
    assert not torch.equal(logits[0], logits[1])
    fresh = supernets(cell)
    stack.write_back(fresh)
    for k, net in enumerate(fresh):
        for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
            assert torch.equal(tensor, {**stack.params, **stack.buffers}[name][k].detach())
        assert int(net.cells[0].edges[0]["nor_conv_1x1"][2].num_batches_tracked) == 1

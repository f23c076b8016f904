"""The NB201 space plugin: strings, NASLib tuples, supernet mixing, discrete networks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import plugins.nb201
from harness import DatasetInfo, UserError
from harness.plugin.manager import load_plugins
from plugins.nb201.cells import DiscreteCell, MixedCell
from plugins.nb201.network import NB201Network, NB201Supernet
from plugins.nb201.ops import build_op
from plugins.nb201.space import NB201Space

SPACE = NB201Space()
TINY = DatasetInfo("tiny", num_classes=3, channels=2, image_size=8, mean=(0.0, 0.0), std=(1.0, 1.0))
CIFAR10 = DatasetInfo("cifar10", num_classes=10, channels=3, image_size=32, mean=(0.5,) * 3, std=(0.25,) * 3)
CIFAR100 = DatasetInfo("cifar100", num_classes=100, channels=3, image_size=32, mean=(0.5,) * 3, std=(0.25,) * 3)
BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
NONE, SKIP, CONV1, CONV3, POOL = range(5)


def tiny_supernet(**options) -> NB201Supernet:
    torch.manual_seed(0)
    return SPACE.build_supernet(TINY, {"C": 4, "N": 1, **options})


def images(batch: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(batch, TINY.channels, TINY.image_size, TINY.image_size, generator=generator)


def test_registered_through_the_hook():
    space = load_plugins(extra=[plugins.nb201])["search space"].create("nb201")
    assert isinstance(space, NB201Space)
    assert space.op_names == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert space.edge_names == ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
    assert space.size() == 15625


def test_parse_known_cells():
    # the CIFAR-10 optimum (index 6111 in the data README), edges in 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2 order
    assert SPACE.parse(BEST_C10) == (CONV3, CONV3, CONV3, SKIP, CONV3, CONV1)
    assert SPACE.format((CONV3, CONV3, CONV3, SKIP, CONV3, CONV1)) == BEST_C10
    assert SPACE.parse("  |skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
                       "skip_connect~2|\n") == (SKIP,) * 6


def test_naslib_tuple_known_answer():
    # NASLib ops [skip, none, conv3, conv1, pool], edges (1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2): row 0 of the table
    expected = (POOL, CONV1, SKIP, CONV1, SKIP, SKIP)
    assert SPACE.parse("(4, 3, 3, 0, 0, 0)") == expected
    assert SPACE.parse("[4,3,3,0,0,0]") == expected
    assert SPACE.format(expected) == ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
                                      "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")


def test_every_benchmark_cell_round_trips(nb201_table):
    table = pd.read_csv(nb201_table, usecols=["arch_str", "naslib_op_indices"])
    archs = [SPACE.parse(text) for text in table["arch_str"]]
    assert [SPACE.format(arch) for arch in archs] == table["arch_str"].tolist()
    assert [SPACE.parse(text) for text in table["naslib_op_indices"]] == archs
    assert len(set(archs)) == SPACE.size()


@pytest.mark.parametrize("text, message", [
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
     r"unknown op 'conv'; known ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
    ("|none~0|+|none~0|none~1|", r"2 node group\(s\) separated by '\+', need 3"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", r"node 2 has 1 input\(s\)"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", r"node 2's input 2 is 'none~2', expected 'none~1'"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none|", r"'none' in node 3 is not of the form op~input"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", r"node 1's group 'none~0\|' must start and end with '\|'"),
    ("(4, 3, 3, 0, 0)", r"NASLib tuple has 5 entries, need 6"),
    ("(4, 3, 3, 0, 0, 5)", r"NASLib tuple entries must be op indices 0..4"),
    ("(4, 3, 3, 0, 0, 0", r"NASLib tuple must end with '\)'"),
    ("6111", r"'6111' is an NB201 index"),
])
def test_bad_strings_say_what_is_wrong(text, message):
    with pytest.raises(UserError, match=message) as error:
        SPACE.parse(text)
    assert "\n" not in error.value.message
    if not text.isdigit():
        assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in error.value.message


@pytest.mark.parametrize("arch", [(1, 2, 3), (0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4, -1)])
def test_format_rejects_invalid_architectures(arch):
    with pytest.raises(UserError, match="must be 6 op indices in 0..4"):
        SPACE.format(arch)


def test_sample_is_a_valid_architecture():
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = SPACE.sample(rng)
        assert SPACE.parse(SPACE.format(arch)) == arch


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="search space nb201: unknown option 'c'; known: C, N"):
        SPACE.build_supernet(TINY, {"c": 4})
    with pytest.raises(UserError, match="option 'N' = 0: input should be greater than or equal to 1"):
        SPACE.build_network((SKIP,) * 6, TINY, {"N": 0})
    odd = DatasetInfo("odd", 3, 1, 7, (0.0,), (1.0,))
    with pytest.raises(UserError, match="divisible by 4"):
        SPACE.build_supernet(odd, {})


def test_supernet_output_shapes():
    supernet = tiny_supernet()
    x = images(4)
    assert supernet(x, torch.softmax(torch.randn(6, 5), -1)).shape == (4, 3)
    assert supernet(x, torch.softmax(torch.randn(4, 6, 5), -1)).shape == (4, 3)
    with pytest.raises(ValueError, match="weights must be"):
        supernet(x, torch.ones(3, 6, 5))
    with pytest.raises(ValueError, match="weights must be"):
        supernet(x, torch.ones(6, 4))


def test_supernet_batchnorm_settings():
    cell = tiny_supernet().cells[0].edges[0]["nor_conv_3x3"][2]
    assert cell.weight is None and cell.track_running_stats
    affine = tiny_supernet(affine=True, track_running_stats=False).cells[0].edges[0]["nor_conv_1x1"][2]
    assert affine.weight is not None and not affine.track_running_stats
    network = SPACE.build_network((CONV3,) * 6, TINY, {"C": 4, "N": 1})
    assert network.cells[0].edges["0"]["nor_conv_3x3"][2].weight is not None


def test_cell_sums_hand_computed():
    x = torch.randn(2, 3, 5, 5)
    # node1 = .5x, node2 = .5x + .5·node1 = .75x, node3 = .5x + .5·node1 + .5·node2 = 1.125x
    half_skip = torch.zeros(6, 5)
    half_skip[:, NONE] = half_skip[:, SKIP] = 0.5
    cell = MixedCell(3, affine=False, track_running_stats=True).eval()
    torch.testing.assert_close(cell(x, half_skip, None), 1.125 * x)
    torch.testing.assert_close(cell(x, half_skip, (half_skip != 0).tolist()), 1.125 * x)
    # all skip: node1 = x, node2 = 2x, node3 = 4x; average pooling keeps a constant image constant
    # (count_include_pad=False), so an all-pool cell maps a constant to 4 times it too
    torch.testing.assert_close(DiscreteCell((SKIP,) * 6, 3)(x), 4 * x)
    constant = torch.full((1, 3, 5, 5), 0.7)
    torch.testing.assert_close(DiscreteCell((POOL,) * 6, 3)(constant), 4 * constant)
    assert torch.equal(DiscreteCell((NONE,) * 6, 3)(x), torch.zeros_like(x))


@pytest.mark.parametrize("name, kernel", [("nor_conv_1x1", 1), ("nor_conv_3x3", 3)])
@pytest.mark.parametrize("affine", [False, True])
def test_conv_ops_compute_relu_then_conv_then_batchnorm(name, kernel, affine):
    """NAS-Bench-201's ReLU → Conv → BN, checked on what the op returns (not on module order):
    Conv → BN → ReLU would give no negative outputs, ReLU → BN → Conv no unit per-channel variance."""
    torch.manual_seed(0)
    op = build_op(name, 3, affine=affine, track_running_stats=True)
    (conv,) = [m for m in op.modules() if isinstance(m, torch.nn.Conv2d)]
    assert conv.bias is None and conv.kernel_size == (kernel, kernel)
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(3))
    conv_out = torch.nn.functional.conv2d(x.clamp_min(0), conv.weight, padding=kernel // 2)
    mean = conv_out.mean(dim=(0, 2, 3), keepdim=True)
    var = conv_out.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (conv_out - mean) / torch.sqrt(var + 1e-5)  # a fresh affine BN has γ = 1, β = 0
    out = op.train()(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    assert (out < 0).any()
    # eval mode: the running statistics of that one batch (momentum 0.1 from mean 0, var 1)
    running_var = 0.9 + 0.1 * conv_out.var(dim=(0, 2, 3), unbiased=True, keepdim=True)
    expected_eval = (conv_out - 0.1 * mean) / torch.sqrt(running_var + 1e-5)
    torch.testing.assert_close(op.eval()(x), expected_eval, rtol=1e-4, atol=1e-5)


def test_parameter_free_ops_compute_identity_and_padded_average():
    x = torch.arange(9.0).view(1, 1, 3, 3)
    assert torch.equal(build_op("skip_connect", 1, affine=False, track_running_stats=True)(x), x)
    pooled = build_op("avg_pool_3x3", 1, affine=False, track_running_stats=True)(x)
    # corner: mean of the 2x2 block it sees (padding not counted); centre: mean of all nine
    assert pooled[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 3 + 4) / 4)
    assert pooled[0, 0, 1, 1].item() == pytest.approx(4.0)
    assert pooled[0, 0, 0, 1].item() == pytest.approx((0 + 1 + 2 + 3 + 4 + 5) / 6)


def test_per_example_weights_match_shared_weights_per_example():
    supernet = tiny_supernet().eval()
    x = images(3)
    weights = torch.softmax(3 * torch.randn(3, 6, 5, generator=torch.Generator().manual_seed(2)), -1)
    batched = supernet(x, weights)
    for b in range(3):
        torch.testing.assert_close(batched[b:b + 1], supernet(x[b:b + 1], weights[b]), rtol=1e-5, atol=1e-5)


def test_skipping_exact_zeros_gives_the_same_output():
    supernet = tiny_supernet()
    x = images(4)
    weights = torch.softmax(torch.randn(6, 5), -1)
    weights[0, CONV3] = weights[2, :] = weights[5, SKIP] = 0.0
    weights[2, POOL] = 1.0
    computed_all = weights.expand(4, 6, 5)  # per-example weights: every op runs, zeros multiply
    for train in (True, False):
        supernet.train(train)
        torch.testing.assert_close(supernet(x, weights), supernet(x, computed_all), rtol=1e-5, atol=1e-6)


def test_one_hot_supernet_trains_only_the_chosen_ops():
    supernet = tiny_supernet(cell="per_op")  # the fused cell gives the others zero gradients instead
    arch = (CONV3, NONE, CONV1, POOL, SKIP, CONV3)
    one_hot = torch.nn.functional.one_hot(torch.tensor(arch), 5).float()
    supernet(images(), one_hot).sum().backward()
    for cell in (layer for layer in supernet.cells if isinstance(layer, MixedCell)):
        for edge, chosen in zip(cell.edges, arch):
            for name in ("nor_conv_1x1", "nor_conv_3x3"):
                has_grad = edge[name][1].weight.grad is not None
                assert has_grad == (SPACE.op_names[chosen] == name)


def test_one_hot_supernet_equals_discrete_network_with_inherited_weights():
    # Both sides build their ops with build_op, so this pins the wiring of cells and
    # networks; what each op computes is pinned independently by test_conv_ops_compute_relu_then_conv_then_batchnorm.
    supernet = tiny_supernet(affine=True)
    arch = (CONV3, NONE, CONV1, POOL, SKIP, CONV3)
    one_hot = torch.nn.functional.one_hot(torch.tensor(arch), 5).float()
    x = images(6)
    supernet(x, one_hot)  # move the running statistics away from their initial values
    network = SPACE.build_network(arch, TINY, {"C": 4, "N": 1})
    shared = supernet.state_dict()
    network.load_state_dict({key: shared[key] for key in network.state_dict()})
    for train in (True, False):
        supernet.train(train)
        network.train(train)
        torch.testing.assert_close(network(x), supernet(x, one_hot), rtol=1e-5, atol=1e-6)


def parameter_count(arch: tuple[int, ...], info: DatasetInfo) -> int:
    network = SPACE.build_network(arch, info, {"C": 16, "N": 5})
    assert isinstance(network, NB201Network)
    return sum(p.numel() for p in network.parameters())


def test_parameter_counts_match_the_official_benchmark():
    # NB201 API cost info: params (MB) range over the space on CIFAR-10 0.073306..1.531546 and
    # on CIFAR-100 0.079156..1.537396 (cells without convolutions .. all nor_conv_3x3)
    assert parameter_count((CONV3,) * 6, CIFAR10) == 1_531_546
    assert parameter_count((SKIP,) * 6, CIFAR10) == 73_306
    assert parameter_count((CONV3,) * 6, CIFAR100) == 1_537_396
    assert parameter_count((NONE,) * 6, CIFAR100) == 79_156


def test_none_edges_add_no_parameters():
    with_none = parameter_count((CONV3, NONE, CONV1, NONE, POOL, NONE), CIFAR10)
    with_skip = parameter_count((CONV3, SKIP, CONV1, SKIP, POOL, SKIP), CIFAR10)
    # per cell: a 3x3 and a 1x1 conv (9c² + c² weights) with affine BatchNorms (2c each), N = 5 cells per stage
    convolutions = sum(5 * (10 * c ** 2 + 4 * c) for c in (16, 32, 64))
    assert with_none == with_skip == 73_306 + convolutions

"""The DARTS search space: genotype text, cell wiring, DARTS' derivation rule, published parameter counts."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
import torch

from harness import DatasetInfo, UserError
from plugins.darts_space.cells import GenotypeCell, SearchCell
from plugins.darts_space.genotype import EDGE_NAMES, NODE_INPUTS, parse_genotype
from plugins.darts_space.network import GenotypeNetwork, parameter_count
from plugins.darts_space.ops import DARTS_OPS
from plugins.darts_space.space import DartsSpace

CIFAR = DatasetInfo("cifar10", num_classes=10, channels=3, image_size=32, mean=(0.5,) * 3, std=(0.25,) * 3)
SMALL = DatasetInfo("toy", num_classes=3, channels=1, image_size=8, mean=(0.5,), std=(0.25,))

# quark0/darts cnn/genotypes.py
DARTS_V1 = ("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
# ruocwang/darts-pt sota/cnn/genotypes.py, DARTS space (s5), each with its "# param size" comment in MB
DARTS_PT = {
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), "
    "('skip_connect', 2), ('skip_connect', 0), ('max_pool_3x3', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), "
    "('avg_pool_3x3', 1), ('dil_conv_5x5', 1), ('dil_conv_3x3', 2), ('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('sep_conv_3x3', 2), "
    "('skip_connect', 4)], reduce_concat=range(2, 6))": 2.85,
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 0), ('dil_conv_3x3', 4)], normal_concat=range(2, 6), reduce=[('dil_conv_5x5', 0), "
    "('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 2), ('max_pool_3x3', 1), ('dil_conv_3x3', 3), ('sep_conv_5x5', 0), "
    "('sep_conv_3x3', 4)], reduce_concat=range(2, 6))": 3.05,
    "Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('skip_connect', 2), "
    "('dil_conv_3x3', 3), ('max_pool_3x3', 1), ('skip_connect', 2)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2), ('skip_connect', 3), ('sep_conv_3x3', 2), "
    "('sep_conv_5x5', 4)], reduce_concat=range(2, 6))": 2.66,
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
    "('skip_connect', 2), ('sep_conv_3x3', 1), ('skip_connect', 3)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), "
    "('sep_conv_5x5', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ('dil_conv_5x5', 1), ('max_pool_3x3', 3), ('sep_conv_5x5', 2), "
    "('skip_connect', 3)], reduce_concat=range(2, 6))": 3.33,
}
SPACE = DartsSpace()


def evaluation_parameters(text: str) -> int:
    """Parameters of the CIFAR-10 evaluation network (C=36, 20 cells, auxiliary head not counted)."""
    network = GenotypeNetwork(SPACE.genotype(SPACE.parse(text)), 3, 10, C=36, layers=20, auxiliary=True)
    return parameter_count(network)


def test_darts_v2_has_the_reference_parameter_count():
    """DARTS' train.py logs "param size = 3.349342MB" for DARTS_V2; the paper rounds it to 3.3M."""
    assert evaluation_parameters(DARTS_V2) == 3_349_342


def test_darts_v1_parameter_count():
    """The same count for DARTS_V1 (5 sep_conv_3x3 + 3 skips in the normal cell); the DARTS paper's
    table gives 3.3M for its first-order model."""
    assert evaluation_parameters(DARTS_V1) == 3_169_414


@pytest.mark.parametrize("text,megabytes", list(DARTS_PT.items()))
def test_darts_pt_genotypes_match_their_published_parameter_sizes(text, megabytes):
    assert round(evaluation_parameters(text) / 1e6, 2) == megabytes


def test_darts_pt_average_and_best_match_table_2():
    """DARTS+PT (avg) 3.0M and (best, 2.48%) 3.3M in darts-pt's Table 2."""
    sizes = [evaluation_parameters(text) / 1e6 for text in DARTS_PT]
    assert round(sum(sizes) / len(sizes), 1) == 3.0
    assert round(sizes[-1], 1) == 3.3


def test_format_is_the_darts_code_print_of_the_genotype():
    """A genotype whose pairs are in input order prints exactly as the DARTS namedtuple does."""
    text = next(iter(DARTS_PT))
    parsed = parse_genotype(text)
    reference = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")(
        normal=[tuple(pair) for pair in parsed.normal], normal_concat=[2, 3, 4, 5],
        reduce=[tuple(pair) for pair in parsed.reduce], reduce_concat=[2, 3, 4, 5])
    assert SPACE.format(SPACE.parse(text)) == repr(reference)


@pytest.mark.parametrize("text", [DARTS_V1, DARTS_V2, *DARTS_PT])
def test_genotypes_round_trip(text):
    arch = SPACE.parse(text)
    assert len(arch) == 28 and sum(op != 0 for op in arch) == 16
    assert SPACE.parse(SPACE.format(arch)) == arch
    assert sorted(SPACE.genotype(arch).normal) == sorted(parse_genotype(text).normal)


def test_a_node_listing_its_inputs_the_other_way_round_prints_in_input_order():
    """DARTS V2's node 4 is ('sep_conv_3x3', 1), ('skip_connect', 0); printed by input index."""
    printed = SPACE.format(SPACE.parse(DARTS_V2))
    assert printed.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                              "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
                              "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                              "('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ")


def test_edge_layout():
    assert len(EDGE_NAMES) == 28 and EDGE_NAMES[0] == "normal:2<-0" and EDGE_NAMES[13] == "normal:5<-4"
    assert EDGE_NAMES[14] == "reduce:2<-0"
    assert NODE_INPUTS[0] == (0, 1) and NODE_INPUTS[3] == (9, 10, 11, 12, 13) and NODE_INPUTS[4] == (14, 15)
    assert SPACE.op_names == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


@pytest.mark.parametrize("text,message", [
    ("Genotype(normal=[('sep_conv_3x3', 0)])", "missing reduce"),
    ("genotype = 3", "not Python syntax"),
    ("Other(normal=[], reduce=[])", "call Genotype"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('conv_7x1_1x7', 2)"), "op 'conv_7x1_1x7' is not in this space"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), "reads input 0 twice"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "input 5 is not an earlier state"),
    (DARTS_V2.replace(", ('dil_conv_3x3', 2)", ""), "7 (op, input) pairs"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "concatenates every node"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('none', 2)"), "op 'none' is not in this space"),
    (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=__import__('os')"), "concat must be"),
])
def test_bad_genotypes_are_one_line_errors(text, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SPACE.parse(text)


def test_format_rejects_architectures_that_are_not_genotypes():
    arch = list(SPACE.parse(DARTS_V2))
    arch[4] = 4  # normal 3<-2: a third input for node 3
    with pytest.raises(UserError, match="normal node 3 has 3 input"):
        SPACE.format(tuple(arch))


def test_argmax_is_darts_genotype_rule():
    """Per edge the strongest op other than none; per node the two edges whose op has the largest softmax weight."""
    logits = torch.zeros(28, 8)
    logits[:, 4] = 1.0  # sep_conv_3x3 everywhere, softmax weight e/(e+7) ≈ 0.28
    logits[2, 0] = 10.0  # normal 3<-0: none dominates, so its sep weight is tiny: dropped although sep is its best op
    logits[4, 6] = 3.0   # normal 3<-2: dil_conv_3x3 with weight e³/(e³+e+6) ≈ 0.64: the strongest input of node 3
    logits[14 + 10, 3] = 2.0  # reduce 5<-1: skip_connect at ≈ 0.43
    arch = SPACE.argmax(logits)
    genotype = SPACE.genotype(arch)
    assert genotype.normal[2:4] == (("sep_conv_3x3", 1), ("dil_conv_3x3", 2))
    assert genotype.normal[:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    # node 5 of the reduction cell: skip from 1, then the tie among the others goes to the lowest edge (input 0)
    assert genotype.reduce[6:] == (("sep_conv_3x3", 0), ("skip_connect", 1))
    assert arch[2] == 0


def test_sample_draws_genotypes_and_size_counts_them():
    rng = np.random.default_rng(0)
    for _ in range(20):
        SPACE.genotype(SPACE.sample(rng))  # raises unless every node keeps two inputs
    per_cell = math.comb(2, 2) * math.comb(3, 2) * math.comb(4, 2) * math.comb(5, 2) * 7 ** 8
    assert SPACE.size() == per_cell ** 2


def test_cells_wire_nodes_to_their_inputs():
    """With only skip connections, every node is the sum of its chosen states: checkable by hand."""
    torch.manual_seed(0)
    gene = (("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("skip_connect", 2),
            ("skip_connect", 1), ("skip_connect", 3), ("skip_connect", 2), ("skip_connect", 4))
    cell = GenotypeCell(gene, 6, 6, 4, reduction=False, reduction_prev=False, affine=False).eval()
    s0, s1 = torch.randn(2, 6, 4, 4), torch.randn(2, 6, 4, 4)
    p0, p1 = cell.pre.inputs(s0, s1)
    n2 = p0 + p1
    n3 = p0 + n2
    n4 = p1 + n3
    n5 = n2 + n4
    torch.testing.assert_close(cell(s0, s1), torch.cat([n2, n3, n4, n5], dim=1))

    search = SearchCell(6, 6, 4, reduction=False, reduction_prev=False, op_names=DARTS_OPS,
                        candidates=[range(8)] * 14, affine=False).eval()
    search.pre.load_state_dict(cell.pre.state_dict())
    weights = torch.zeros(14, 8)
    for node, source in [(2, 0), (2, 1), (3, 0), (3, 2), (4, 1), (4, 3), (5, 2), (5, 4)]:
        weights[[i for i, name in enumerate(EDGE_NAMES) if name == f"normal:{node}<-{source}"][0], 3] = 1.0
    torch.testing.assert_close(search(s0, s1, weights, (weights != 0).tolist()), cell(s0, s1))


def test_reduction_cells_halve_and_zero_weights_skip_ops():
    supernet = SPACE.build_supernet(SMALL, {"C": 4, "N": 0})
    x = torch.randn(3, 1, 8, 8)
    weights = torch.softmax(torch.randn(28, 8), dim=-1)
    assert supernet(x, weights).shape == (3, 3)
    assert supernet(x, weights.expand(3, 28, 8)).shape == (3, 3)
    with pytest.raises(ValueError, match="must be"):
        supernet(x, weights[:14])
    one_hot = torch.zeros(28, 8)
    one_hot[:, 3] = 1.0  # skip_connect only: conv ops get no gradient, they are not even run
    supernet(x, one_hot).sum().backward()
    grads = {name: p.grad for name, p in supernet.named_parameters() if ".edges." in name}
    assert grads and all(g is None for name, g in grads.items() if "sep_conv" in name)
    assert any(g is not None for name, g in grads.items() if "skip_connect" in name)  # FactorizedReduce in reductions


def test_network_sizes_and_bad_settings():
    network = SPACE.build_network(SPACE.parse(DARTS_V2), SMALL, {"C": 4, "N": 1})
    assert len(network.cells) == 5 and [c.reduction for c in network.cells] == [False, True, False, True, False]
    assert network(torch.randn(2, 1, 8, 8)).shape == (2, 3)
    with pytest.raises(UserError, match="even C"):
        SPACE.build_supernet(SMALL, {"C": 3})
    with pytest.raises(UserError, match="divisible by 4"):
        SPACE.build_supernet(DatasetInfo("odd", 2, 1, 6, (0.0,), (1.0,)), {})
    with pytest.raises(UserError, match="unknown option 'layers'"):
        SPACE.build_supernet(SMALL, {"layers": 8})


def test_auxiliary_head_on_cifar_sized_images():
    network = GenotypeNetwork(SPACE.genotype(SPACE.parse(DARTS_V2)), 3, 10, C=4, layers=2, auxiliary=True)
    logits, aux = network.train().forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    assert network.eval().forward_with_aux(torch.randn(2, 3, 32, 32))[1] is None


def test_search_supernet_has_the_reference_parameter_count():
    """C=16, 8 cells on CIFAR-10: 1.930618M parameters, as NASLib's test of its DARTS search space
    (``NasBench301SearchSpace``, ``get_model_size() == 1.930618``) asserts."""
    supernet = SPACE.build_supernet(CIFAR, {})
    assert sum(p.numel() for p in supernet.parameters()) == 1_930_618

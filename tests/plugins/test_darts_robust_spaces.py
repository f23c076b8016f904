"""RobustDARTS S1–S4: per-edge op sets, masked softmax, genotypes of darts-pt's searches and their sizes."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness import DatasetInfo, UserError
from harness.plugin.manager import load_plugins
from plugins.darts.optimizer import DartsOptimizer, FixedOptimizer
from plugins.darts_space.network import GenotypeNetwork, parameter_count
from plugins.darts_space.robust import S1Space, S2Space, S3Space, S4Space

SMALL = DatasetInfo("toy", num_classes=3, channels=1, image_size=8, mean=(0.5,), std=(0.25,))
# ruocwang/darts-pt sota/cnn/genotypes.py: darts_pt_s1_1 … darts_pt_s4_1 (CIFAR-10) with their "# param size" comments
DARTS_PT = [
    (S1Space, "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('skip_connect', 1), "
              "('skip_connect', 0), ('skip_connect', 1), ('dil_conv_3x3', 3), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), "
              "reduce=[('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 1), "
              "('skip_connect', 3), ('skip_connect', 2), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))", 1.87),
    (S2Space, "Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 1), ('skip_connect', 2), "
              "('sep_conv_3x3', 0), ('skip_connect', 3), ('skip_connect', 3), ('sep_conv_3x3', 4)], normal_concat=range(2, 6), "
              "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 1), "
              "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 3)], reduce_concat=range(2, 6))", 2.79),
    (S3Space, "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 1), "
              "('skip_connect', 0), ('skip_connect', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=range(2, 6), "
              "reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 0), "
              "('skip_connect', 3), ('skip_connect', 3), ('sep_conv_3x3', 4)], reduce_concat=range(2, 6))", 3.42),
    (S4Space, "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
              "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], normal_concat=range(2, 6), "
              "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), "
              "('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=range(2, 6))", 4.70),
]


@pytest.mark.parametrize("space_class,text,megabytes", DARTS_PT)
def test_darts_pt_genotypes_parse_and_have_their_published_sizes(space_class, text, megabytes):
    space = space_class()
    arch = space.parse(text)
    assert space.parse(space.format(arch)) == arch
    network = GenotypeNetwork(space.genotype(arch), 3, 10, C=36, layers=20, auxiliary=True)
    assert round(parameter_count(network) / 1e6, 2) == megabytes


def test_op_sets():
    s1 = S1Space()
    assert [s1.op_names[o] for o in s1.candidate_ops(0)] == ["skip_connect", "dil_conv_3x3"]
    assert [s1.op_names[o] for o in s1.candidate_ops(13)] == ["dil_conv_3x3", "dil_conv_5x5"]
    assert [s1.op_names[o] for o in s1.candidate_ops(14)] == ["max_pool_3x3", "avg_pool_3x3"]
    assert [s1.op_names[o] for o in s1.candidate_ops(20)] == ["max_pool_3x3", "sep_conv_3x3"]
    assert "sep_conv_5x5" not in s1.op_names and s1.op_names[0] == "none"
    assert S2Space().op_names == ("none", "skip_connect", "sep_conv_3x3")
    assert S3Space().logit_mask() is None  # none is searchable in S3
    assert S4Space().op_names == ("none", "noise", "sep_conv_3x3")
    mask = S2Space().logit_mask()
    assert mask is not None and torch.isinf(mask[:, 0]).all() and (mask[:, 1:] == 0).all()


def test_every_space_counts_two_choices_per_kept_edge():
    per_cell = math.comb(2, 2) * math.comb(3, 2) * math.comb(4, 2) * math.comb(5, 2) * 2 ** 8
    for space_class in (S1Space, S2Space, S3Space, S4Space):
        assert space_class().size() == per_cell ** 2


def test_samples_and_argmax_stay_in_each_edges_set():
    s1 = S1Space()
    rng = np.random.default_rng(0)
    logits = torch.randn(28, s1.num_ops)
    logits[:, s1.op_names.index("skip_connect")] = 50.0  # not offered on many edges: must not be chosen there
    for arch in [s1.sample(rng) for _ in range(10)] + [s1.argmax(logits)]:
        s1.genotype(arch)
        assert all(op == 0 or op in s1.candidate_ops(edge) for edge, op in enumerate(arch))
    chosen = s1.argmax(logits)
    assert all(s1.op_names[op] == "skip_connect" for edge, op in enumerate(chosen)
               if op and "skip_connect" in s1.edge_ops[edge])


def test_genotype_with_an_op_the_edge_does_not_offer_is_rejected():
    text = DARTS_PT[0][1].replace("('dil_conv_5x5', 4)", "('skip_connect', 4)")
    with pytest.raises(UserError, match=r"normal:5<-4 offers dil_conv_3x3, dil_conv_5x5, not skip_connect"):
        S1Space().parse(text)
    with pytest.raises(UserError, match="not in this space"):
        S2Space().parse(DARTS_PT[3][1].replace("('sep_conv_3x3', 2)]", "('dil_conv_3x3', 2)]"))


def test_supernet_builds_only_the_offered_ops_and_optimizers_mix_over_them(tmp_path):
    s1 = S1Space()
    supernet = s1.build_supernet(SMALL, {"C": 4, "N": 0})
    assert set(supernet.cells[0].edges[0].keys()) == {"max_pool_3x3", "avg_pool_3x3"}  # both cells reduce at N=0
    assert supernet(torch.randn(2, 1, 8, 8), torch.softmax(torch.randn(28, s1.num_ops), -1)).shape == (2, 3)

    from tiny import tiny_run
    run = tiny_run(tmp_path)
    for optimizer in (DartsOptimizer(), FixedOptimizer()):
        optimizer.attach(S2Space(), supernet, run)
        weights = optimizer.mixing_weights(training=True)
        assert (weights[:, 0] == 0).all() and torch.allclose(weights.sum(-1), torch.ones(28))
    s3 = FixedOptimizer()
    s3.attach(S3Space(), supernet, run)
    assert torch.allclose(s3.mixing_weights(training=True), torch.full((28, 3), 1 / 3))


def test_spaces_are_registered():
    names = load_plugins()["search space"].names()
    assert {"darts", "darts-s1", "darts-s2", "darts-s3", "darts-s4"} <= set(names)

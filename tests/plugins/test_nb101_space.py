"""The nb101 space: pruning, validity, the official hash, strings and nasbench-pytorch networks."""
from __future__ import annotations

import json

import numpy as np
import pytest
from nb101_fixture import ZC_JSON, dummy_cells

from harness import DatasetInfo, UserError
from plugins.nb101.space import NB101Space
from plugins.nb101.spec import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Spec

CIFAR = DatasetInfo("cifar10", 10, 3, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
PAPER_CELL = "0101000,0011100,0001000,0000001,0000010,0000001,0000000|conv3x3,conv1x1,conv1x1,conv3x3,conv1x1"


def test_fixture_hashes_come_back_from_matrix_and_ops():
    """All 30 hashes of NASLib's pickle are recomputed from their matrix and ops (and survive a string round trip)."""
    space = NB101Space()
    for module_hash, (fixed, _) in dummy_cells().items():
        spec = Spec.of(fixed["module_adjacency"], fixed["module_operations"])
        assert spec.hash() == module_hash
        arch = space.parse(space.format(spec.to_arch()))
        assert space.describe(arch)["nb101_hash"] == module_hash


def test_hash_is_invariant_to_vertex_order_and_sensitive_to_ops():
    matrix = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    a = Spec.of(matrix, [INPUT, CONV3X3, MAXPOOL3X3, OUTPUT])
    swapped = Spec.of(matrix, [INPUT, MAXPOOL3X3, CONV3X3, OUTPUT])  # same graph, the two branches renumbered
    other = Spec.of(matrix, [INPUT, CONV1X1, MAXPOOL3X3, OUTPUT])
    assert a.hash() == swapped.hash()
    assert a.hash() != other.hash()


def test_pruning_drops_dangling_vertices_and_keeps_the_hash():
    # vertex 2 has no input (not reachable from 0); vertex 3 does not reach the output
    matrix = np.zeros((6, 6), dtype=int)
    matrix[0, 1] = matrix[1, 5] = matrix[2, 5] = matrix[0, 3] = matrix[0, 4] = matrix[4, 5] = 1
    spec = Spec.of(matrix, [INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, CONV1X1, OUTPUT])
    pruned = spec.pruned()
    assert pruned is not None and pruned.ops == (INPUT, CONV3X3, CONV1X1, OUTPUT)
    assert pruned.matrix == ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert spec.hash() == pruned.hash()


def test_invalid_cells_are_one_clear_line():
    space = NB101Space()
    with pytest.raises(UserError, match="not reachable"):
        space.parse("010,000,000|conv3x3")
    eleven_edges = ",".join(["0111111", "0010000", "0001000", "0000100", "0000010", "0000001", "0000000"])
    with pytest.raises(UserError, match="edges after pruning"):
        space.parse(f"{eleven_edges}|conv3x3,conv3x3,conv3x3,conv3x3,conv3x3")
    with pytest.raises(UserError, match="unknown op"):
        space.parse("011,001,000|conv5x5")
    with pytest.raises(UserError, match="strictly upper triangular"):
        space.parse("011,101,000|conv3x3")
    with pytest.raises(UserError, match="interior op"):
        space.parse("011,001,000|conv3x3,conv1x1")


def test_architecture_tuple_is_21_bits_and_5_ops():
    space = NB101Space()
    arch = space.parse("011,001,000|maxpool3x3")
    assert len(arch) == 26
    # edges 0->1, 0->6 (the output moves to vertex 6), 1->6; vertex 1 is maxpool (index 2), padding conv3x3 (0)
    bits = dict(zip(space.edge_names, arch))
    assert {name for name, bit in list(bits.items())[:21] if bit} == {"0->1", "0->6", "1->6"}
    assert arch[21:] == (2, 0, 0, 0, 0)
    assert space.format(arch) == "011,001,000|maxpool3x3"


def test_naslib_zero_cost_keys_parse_to_valid_cells():
    if not ZC_JSON.exists():
        pytest.skip("zc_nasbench101.json not found")
    keys = list(json.loads(ZC_JSON.read_text())["nasbench101"]["cifar10"])[:50]
    space = NB101Space()
    for key in keys:
        values = [int(v) for v in key.strip("()").split(",")]
        arch = space.parse(key)
        pruned = space.nb101_spec(arch)
        assert pruned.num_edges <= sum(values[:49])  # pruning can only remove edges
        assert space.parse(space.format(arch)) == arch


def test_samples_are_valid_and_seeded():
    space = NB101Space()
    first = [space.sample(np.random.default_rng(3)) for _ in range(2)]
    assert first[0] == first[1]
    for seed in range(20):
        assert Spec.from_arch(space.sample(np.random.default_rng(seed))).problem() is None


def test_network_parameter_counts_match_the_official_ones_up_to_a_few_per_cell():
    """nasbench-pytorch counts 3-7 parameters more per cell than TF's official count (27-63 over 9 cells)."""
    space = NB101Space()
    differences = set()
    for fixed, _ in list(dummy_cells().values())[:10]:
        arch = Spec.of(fixed["module_adjacency"], fixed["module_operations"]).to_arch()
        network = space.build_network(arch, CIFAR, {})
        count = sum(p.numel() for p in network.parameters() if p.requires_grad)
        differences.add(count - fixed["trainable_parameters"])
    assert differences and all(0 < d <= 63 and d % 9 == 0 for d in differences)


def test_paper_cell_network_has_the_official_parameter_count_difference_and_runs():
    import torch

    space = NB101Space()
    arch = space.parse(PAPER_CELL)
    network = space.build_network(arch, CIFAR, {})
    assert sum(p.numel() for p in network.parameters()) == 6_315_018 + 54
    small = space.build_network(arch, CIFAR, {"stem_channels": 8, "stacks": 2, "cells_per_stack": 1})
    assert small(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_no_supernet_and_no_argmax():
    space = NB101Space()
    with pytest.raises(UserError, match="nb1shot1"):
        space.build_supernet(CIFAR, {})


def test_naslib_zero_cost_entry_of_a_fixture_cell_is_one_of_its_runs():
    """Independent check of key parsing and hashing: the one zc_nasbench101.json cell that is also in the
    30-cell pickle has NASLib's single-run validation accuracy equal to one of that cell's three runs."""
    if not ZC_JSON.exists():
        pytest.skip("zc_nasbench101.json not found")
    space = NB101Space()
    entries = json.loads(ZC_JSON.read_text())["nasbench101"]["cifar10"]
    by_hash = {space.describe(space.parse(key))["nb101_hash"]: value["val_accuracy"] for key, value in entries.items()}
    cells = dummy_cells()
    shared = set(by_hash) & set(cells)
    assert len(shared) == 1
    (module_hash,) = shared
    runs = [100 * run["final_validation_accuracy"] for run in cells[module_hash][1][108]]
    assert any(by_hash[module_hash] == pytest.approx(value, abs=1e-6) for value in runs)

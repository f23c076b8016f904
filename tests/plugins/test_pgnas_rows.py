"""PGNAS on NAS-Bench-1Shot1 (spaces with row_choices): the rule that turns a gate pattern into an
architecture, on hand-made patterns of both row kinds, the kernels each gate governs, and a tiny run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from nb101_fixture import dummy_path, run_on_nb1shot1

from harness import DatasetInfo
from harness.cli.main import build_cli
from plugins.nb1shot1.space import NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3
from plugins.pgnas.optimizer import find_gated_kernels, gate_layout
from plugins.pgnas.rows import decided_weights, row_scores

INFO = DatasetInfo("toy", num_classes=3, channels=3, image_size=8, mean=(0.0,) * 3, std=(1.0,) * 3)
SPACES = [NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3]


def chosen_columns(space, arch) -> dict[str, tuple[int, ...]]:
    """Each row's chosen columns, read off the architecture string (op indices for ops, parents for inputs)."""
    ops = {"conv3x3": 1, "conv1x1": 2, "maxpool3x3": 0}
    fields = dict(part.split("=") for part in space.format(arch).split(";"))
    op_rows = [name for name in space.edge_names if name.startswith("op")]
    out = {name: (ops[op],) for name, op in zip(op_rows, fields.pop("ops").split(","))}
    out.update({name: tuple(int(p) for p in value.split(",")) for name, value in fields.items()})
    return out


def test_rule_on_hand_made_patterns_of_both_row_kinds():
    """Space 3: op rows keep the most-kept *kept* op (the most-kept op if none is kept); the output row (2 of 6)
    and in4 (2 of 4) keep the most-kept kept parents first, then fill from the non-kept by keep probability."""
    space = NB1Shot1Space3()
    rows = space.row_choices()
    index = {name: i for i, name in enumerate(space.edge_names)}
    keep = torch.full((space.num_edges, space.num_ops), 0.5)
    kept = torch.zeros(space.num_edges, space.num_ops)
    keep[index["op1"], :3] = torch.tensor([0.9, 0.2, 0.6])
    kept[index["op1"], :3] = torch.tensor([0.0, 1.0, 1.0])      # kept: conv3x3 (0.2), conv1x1 (0.6) -> conv1x1
    keep[index["op2"], :3] = torch.tensor([0.3, 0.8, 0.4])      # nothing kept -> conv3x3, the most kept
    keep[index["op3"], :3] = torch.tensor([0.9, 0.2, 0.6])
    kept[index["op3"], :3] = torch.tensor([0.0, 1.0, 0.0])      # only conv3x3 kept -> conv3x3 despite 0.2
    keep[index["out"], :6] = torch.tensor([0.1, 0.8, 0.3, 0.7, 0.2, 0.9])
    kept[index["out"], :6] = torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0, 0.0])  # kept 0,2,3,4 -> 3 (0.7), 2 (0.3)
    keep[index["in4"], :4] = torch.tensor([0.1, 0.8, 0.3, 0.7])
    kept[index["in4"], :4] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # only 0 kept -> 0, then 1 (0.8)
    keep[index["in5"], :5] = torch.tensor([0.1, 0.8, 0.3, 0.7, 0.6])  # none kept -> 1 (0.8), 3 (0.7)
    keep[index["in2"], :2] = torch.tensor([0.9, 0.1])
    kept[index["in2"], :2] = torch.tensor([1.0, 1.0])            # both kept, 1 parent -> 0
    keep[index["in3"], :3] = torch.tensor([0.9, 0.1, 0.2])
    kept[index["in3"], :3] = torch.tensor([0.0, 1.0, 1.0])      # kept 1 (0.1), 2 (0.2) -> 2
    arch = space.argmax(row_scores(kept, keep, rows))
    assert space.format(arch) == "ops=conv1x1,conv3x3,conv3x3,maxpool3x3,maxpool3x3;out=2,3;in2=0;in3=2;in4=0,1;in5=1,3"
    assert space.nb101_spec(arch).problem() is None
    weights = decided_weights(row_scores(kept, keep, rows), rows)
    columns = chosen_columns(space, arch)
    for i, name in enumerate(space.edge_names):
        assert tuple(weights[i].nonzero().flatten().tolist()) == tuple(sorted(columns[name])), name


@pytest.mark.parametrize("space_class", SPACES)
def test_random_patterns_always_give_valid_cells_with_each_rows_parent_count(space_class):
    """Whatever the pattern, every row keeps exactly its number of columns (space 1: 2 parents per row,
    space 2: 1, 1, 2, 2 and 3 for the output), kept columns first, and the cell is an NB101 cell."""
    space = space_class()
    rows = space.row_choices()
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        keep = torch.rand(space.num_edges, space.num_ops, generator=generator)
        kept = (torch.rand(space.num_edges, space.num_ops, generator=generator) < 0.5).float()
        arch = space.argmax(row_scores(kept, keep, rows))
        assert space.nb101_spec(arch).problem() is None
        columns = chosen_columns(space, arch)
        for i, (name, row) in enumerate(zip(space.edge_names, rows)):
            chosen = set(columns[name])
            kept_here = {c for c in row.columns if kept[i, c] > 0}
            assert len(chosen) == row.keep and chosen <= set(row.columns)
            assert chosen <= kept_here if len(kept_here) >= row.keep else kept_here <= chosen
            best_kept = max(kept_here, key=lambda c: float(keep[i, c]), default=None)
            if best_kept is not None:
                assert best_kept in chosen
    counts = {name: row.keep for name, row in zip(space.edge_names, rows) if row.decides == "inputs"}
    expected = {1: {"out": 2, "in3": 2, "in4": 2},
                2: {"out": 3, "in2": 1, "in3": 2, "in4": 2},
                3: {"out": 2, "in2": 1, "in3": 1, "in4": 2, "in5": 2}}[space.layout.number]
    assert counts == expected


def test_gates_govern_their_own_kernels_and_parent_edges_mostly_none():
    """Op gates own that op's conv-BN in every cell (maxpool: nothing); the parent edge from the cell input
    owns the node's input projection; the output's edge from the input owns the output projection; edges
    from earlier nodes own no kernel (only likelihood and entropy move their p); node 1's projection is
    under no gate."""
    space = NB1Shot1Space3()
    torch.manual_seed(0)
    supernet = space.build_supernet(INFO, {"C": 2, "N": 1})
    layout = gate_layout(space)
    kernels, ungated = find_gated_kernels(supernet, layout, torch.randn(2, 3, 8, 8))
    names = {id(p): name for name, p in supernet.named_parameters()}
    owned = {group.name: {names[id(p)] for p in params} for group, params in zip(layout.groups, kernels)}
    assert len(owned) == 5 * 3 + 6 + 2 + 3 + 4 + 5
    cells = range(len(supernet.cells))

    def in_cells(module: str) -> set[str]:
        return {f"cells.{c}.{module}.{suffix}" for c in cells for suffix in ("0.weight", "1.weight", "1.bias")}

    for block in range(5):
        assert owned[f"op{block + 1}:maxpool3x3"] == set()
        assert owned[f"op{block + 1}:conv3x3-bn-relu"] == in_cells(f"blocks.{block}.1")
        assert owned[f"op{block + 1}:conv1x1-bn-relu"] == in_cells(f"blocks.{block}.2")
    assert owned["out:0"] == in_cells("output_projection")
    for node in range(2, 6):
        assert owned[f"in{node}:0"] == in_cells(f"projections.{node - 1}")
        assert all(owned[f"in{node}:{parent}"] == set() for parent in range(1, node))
    assert all(owned[f"out:{parent}"] == set() for parent in range(1, 6))
    assert in_cells("projections.0") <= {names[id(p)] for p in ungated}


def test_pgnas_runs_on_space_3_and_records_the_nb101_cell(tmp_path):
    record, folder = run_on_nb1shot1(tmp_path, "pgnas", "nb1shot1-3", "space.options.C=2", "space.options.N=1",
                                     "selector.options.candidates=8")
    space = NB1Shot1Space3()
    arch = space.parse(record["arch"])
    assert record["arch_details"] == space.describe(arch)
    assert len(record["arch_details"]["nb101_hash"]) == 32
    details = record["selection"]
    assert details["candidates"] == 8 and details["cell_rule"] == "keep_probability"
    assert 0.0 <= details["best_cell_valid_acc"] <= 100.0
    trajectory = (folder / "trajectory.csv").read_text().splitlines()
    assert trajectory[0].split(",")[2:4] == ["nb101_spec", "nb101_hash"]


def test_held_out_cell_rule_refuses_row_choice_spaces(tmp_path):
    result = CliRunner().invoke(build_cli(), [
        "run", "--method", "pgnas-heldout", "--space", "nb1shot1-1", "--dataset", "synthetic", "--epochs", "0",
        "--benchmark", "nb101", "--benchmark-file", str(dummy_path()), "--results", str(tmp_path),
        "--set", "search.batch_size=32", "--set", "space.options.C=2", "--set", "space.options.N=1",
        "--set", "selector.options.candidates=2"])
    assert "cell_rule held_out needs one op per edge" in result.output
    assert "Traceback" not in result.output


def test_supernet_with_a_fully_dropped_op_row_outputs_zeros_there():
    """A gate pattern may keep no op of a block; with 2-D weights the supernet skips every op, and the block's
    state is then zeros of the right shape (not a scalar)."""
    space = NB1Shot1Space1()
    torch.manual_seed(0)
    supernet = space.build_supernet(INFO, {"C": 2, "N": 1}).eval()
    weights = torch.ones(space.num_edges, space.num_ops)
    weights[0] = 0.0
    x = torch.randn(2, 3, 8, 8)
    as_batch = supernet(x, weights.expand(2, -1, -1))
    np.testing.assert_allclose(supernet(x, weights).detach().numpy(), as_batch.detach().numpy(), atol=1e-5)

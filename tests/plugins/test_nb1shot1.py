"""NAS-Bench-1Shot1 spaces: the architecture → NB101 spec mapping of all three spaces, argmax, the supernet, a run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from nb101_fixture import dummy_path, run_on_nb1shot1

from harness import DatasetInfo, UserError
from harness.cli.main import build_cli
from plugins.nb1shot1.space import NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3

INFO = DatasetInfo("toy", 10, 3, 8, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def rows(spec_text: str) -> list[str]:
    return spec_text.split("|")[0].split(",")


def test_space1_every_node_reaches_the_output():
    space = NB1Shot1Space1()
    arch = space.parse("ops=conv3x3,conv1x1,maxpool3x3,conv3x3;in3=0,2;in4=1,3;out=2,4")
    spec = space.nb101_spec(arch)
    # node 2 always takes 0 and 1; vertex 5 is the unused padding vertex (conv1x1), the output moves to 6
    assert spec.matrix == ((0, 1, 1, 1, 0, 0, 0), (0, 0, 1, 0, 1, 0, 0), (0, 0, 0, 1, 0, 0, 1), (0, 0, 0, 0, 1, 0, 0),
                           (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0))
    assert spec.ops[5] == "conv1x1-bn-relu" and spec.num_edges == 9
    assert space.describe(arch)["nb101_spec"] == \
        "011100,001010,000101,000010,000001,000000|conv3x3,conv1x1,maxpool3x3,conv3x3"


def test_space2_single_parents_and_three_output_parents():
    space = NB1Shot1Space2()
    arch = space.parse("ops=maxpool3x3,conv3x3,conv3x3,conv1x1;in2=1;in3=0,2;in4=0,3;out=0,1,4")
    assert space.describe(arch)["nb101_spec"] == \
        "010111,001001,000100,000010,000001,000000|maxpool3x3,conv3x3,conv3x3,conv1x1"


def test_space3_nodes_off_the_output_path_get_no_edges():
    space = NB1Shot1Space3()
    arch = space.parse("ops=conv3x3,conv3x3,conv1x1,maxpool3x3,conv1x1;in2=0;in3=2;in4=1,2;in5=3,4;out=0,4")
    spec = space.nb101_spec(arch)
    # nodes 3 and 5 do not reach the output: the reference adds no edge for them
    assert spec.matrix == ((0, 1, 1, 0, 0, 0, 1), (0, 0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 1, 0, 0), (0, 0, 0, 0, 0, 0, 0),
                           (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0))
    assert space.describe(arch)["nb101_spec"] == "01101,00010,00010,00001,00000|conv3x3,conv3x3,maxpool3x3"


def test_argmax_takes_top_k_parents_and_ignores_padding():
    space = NB1Shot1Space3()
    scores = torch.full((space.num_edges, space.num_ops), 100.0)  # padding entries are huge on purpose
    values = {
        "op1": [0.1, 0.9, 0.0], "op2": [0.0, 0.0, 1.0], "op3": [2.0, 1.0, 0.0], "op4": [0, 1, 0], "op5": [0, 0, 1],
        "out": [0.5, 0.1, 0.2, 0.3, 0.0, 0.9], "in2": [0.0, 1.0], "in3": [0.3, 0.2, 0.1],
        "in4": [0.0, 0.4, 0.5, 0.1], "in5": [0.9, 0.0, 0.0, 0.0, 0.8],
    }
    for row, name in enumerate(space.edge_names):
        scores[row, :len(values[name])] = torch.tensor(values[name], dtype=torch.float)
    arch = space.argmax(scores)
    assert space.format(arch) == \
        "ops=conv3x3,conv1x1,maxpool3x3,conv3x3,conv1x1;out=0,5;in2=1;in3=0;in4=1,2;in5=0,4"


def test_supernet_mixes_a_rows_valid_entries_as_given():
    """Optimizers mix each row over its valid entries (logit_mask); padding never reaches the output, and a row
    is not renormalized: halving one op row's weights changes the output (the reference's forward, PT's masking)."""
    space = NB1Shot1Space2()
    torch.manual_seed(0)
    supernet = space.build_supernet(INFO, {"C": 4, "N": 1}).eval()
    mask = space.logit_mask()
    # width 5: op1-op4 have 3 entries, out 5, in2 2, in3 3, in4 4
    assert mask is not None and int(mask.isinf().sum()) == 4 * 2 + 0 + 3 + 2 + 1
    logits = torch.randn(space.num_edges, space.num_ops)
    weights = torch.softmax(logits + mask, dim=-1)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(space.num_edges))
    padded = weights.clone()
    padded[mask.isinf()] = 0.7
    x = torch.randn(2, 3, 8, 8)
    same = [supernet(x, w) for w in (weights, padded)]
    assert torch.equal(same[0], same[1])
    halved = weights.clone()
    halved[0] *= 0.5
    assert not torch.allclose(supernet(x, halved), same[0])
    changed = torch.softmax(logits + mask + torch.eye(space.num_edges, space.num_ops) * 5.0, dim=-1)
    assert not torch.allclose(supernet(x, changed), same[0])
    per_example = supernet(x, weights.expand(2, -1, -1))
    assert torch.allclose(per_example, same[0], atol=1e-5)


@pytest.mark.parametrize("space_class", [NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3])
def test_every_sample_is_an_nb101_cell_and_round_trips(space_class):
    space = space_class()
    for seed in range(30):
        arch = space.sample(np.random.default_rng(seed))
        assert space.parse(space.format(arch)) == arch
        assert space.nb101_spec(arch).problem() is None
        assert len(space.describe(arch)["nb101_hash"]) == 32


def test_space_sizes_and_bad_strings():
    assert NB1Shot1Space2().size() == 29160  # the reference's count of space 2 (with loose ends)
    with pytest.raises(UserError, match="in3 takes 2 distinct parent"):
        NB1Shot1Space1().parse("ops=conv3x3,conv1x1,maxpool3x3,conv3x3;in3=0,3;in4=1,3;out=2,4")
    with pytest.raises(UserError, match="keys must be"):
        NB1Shot1Space1().parse("ops=conv3x3,conv1x1,maxpool3x3,conv3x3;out=2,4")


def test_balenas_runs_on_space_3_and_records_the_nb101_cell(tmp_path):
    record, folder = run_on_nb1shot1(tmp_path, "balenas", "nb1shot1-3", "space.options.C=4")
    space = NB1Shot1Space3()
    arch = space.parse(record["arch"])
    assert record["arch_details"] == space.describe(arch)
    trajectory = (folder / "trajectory.csv").read_text().splitlines()
    assert trajectory[0].split(",")[2:4] == ["nb101_spec", "nb101_hash"]


def test_pgnas_refuses_a_set_choosing_space_that_does_not_say_what_its_rows_decide():
    """PGNAS runs on the 1Shot1 spaces through row_choices (tests/plugins/test_pgnas_rows.py); a space whose
    rows are not one op per edge and that declares no row_choices is refused in one line."""
    from plugins.pgnas.optimizer import PgnasOptimizer

    class Undeclared(NB1Shot1Space1):
        name = "undeclared"

        def row_choices(self):
            return None

    space = Undeclared()
    with pytest.raises(UserError, match="neither one op per edge nor row_choices"):
        PgnasOptimizer().attach(space, space.build_supernet(INFO, {"C": 2, "N": 1}), None)


def test_every_epoch_is_looked_up_in_nb101_and_plotted(tmp_path):
    """A seeded run visits the same cells twice; the second run, given an NB101 file with those cells
    (metrics made up from their hashes), records NB101 test accuracy per epoch and `nasbench plot` draws it."""
    import csv

    from test_nb101_benchmark import write_official

    def run(results, benchmark_file):
        result = CliRunner().invoke(build_cli(), [
            "run", "--method", "darts", "--space", "nb1shot1-1", "--dataset", "synthetic", "--epochs", "2",
            "--benchmark", "nb101", "--benchmark-file", str(benchmark_file), "--results", str(results),
            "--set", "search.batch_size=32", "--set", "space.options.C=2", "--set", "space.options.N=1"])
        assert result.exit_code == 0, result.output
        (trajectory,) = results.rglob("trajectory.csv")
        missing = "benchmark nb101 has no entry for the chosen architecture" in result.output
        return list(csv.DictReader(trajectory.open())), missing

    first, missing = run(tmp_path / "first", dummy_path())
    assert missing  # NASLib's test pickle holds 30 cells, none of them this run's: said, not silent
    made_up = {row["nb101_hash"]: 80.0 + int(row["nb101_hash"][:2], 16) / 16 for row in first}
    space = NB1Shot1Space1()
    cells = {}
    for row in first:
        spec = space.nb101_spec(space.parse(row["arch"])).checked()
        fraction = made_up[row["nb101_hash"]] / 100
        run_values = {f"{when}_{what}": fraction for when in ("halfway", "final")
                      for what in ("train_accuracy", "validation_accuracy", "test_accuracy")}
        run_values.update(halfway_training_time=1.0, final_training_time=2.0)
        cells[row["nb101_hash"]] = ({"module_adjacency": np.array(spec.matrix), "module_operations": list(spec.ops),
                                     "trainable_parameters": 1000}, {108: [run_values] * 3})
    official = tmp_path / "nasbench_only108.tfrecord"
    write_official(official, cells)

    second, missing = run(tmp_path / "second", official)
    assert not missing
    assert [row["nb101_hash"] for row in second] == [row["nb101_hash"] for row in first]
    for row in second:
        assert float(row["cifar10-nb101/test_acc"]) == pytest.approx(made_up[row["nb101_hash"]])
    plotted = CliRunner().invoke(build_cli(), ["plot", str(tmp_path / "second"), "--format", "png"])
    assert plotted.exit_code == 0, plotted.output
    assert "test_accuracy" in plotted.output

"""The packed NB201 table shipped with the package: known values, precedence, size, reproducibility."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plugins.nb201_benchmark.location as location
from harness import UserError
from plugins.nb201_benchmark.benchmark import NB201Benchmark
from plugins.nb201_benchmark.packed import SCALE, arch_ops, arch_string, read_packed, write_packed
from plugins.nb201_benchmark.table import MetricTable

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ROUNDING = 1 / (2 * SCALE)

KNOWN = {  # the data README's check values (four decimals), index → metric → value
    6111: {"cifar10/test_acc": 94.3733, "cifar10-valid/valid_acc": 91.6067},
    9930: {"cifar100/test_acc": 73.5133},
    857: {"ImageNet16-120/test_acc": 47.3111},
    1835: {"cifar10/test_acc": 54.2967, "cifar100/test_acc": 15.6067, "ImageNet16-120/test_acc": 16.3222},
}


@pytest.fixture
def shipped() -> MetricTable:
    return read_packed(location.SHIPPED_TABLE)


def test_shipped_table_is_small_and_has_its_licence_notice():
    assert location.SHIPPED_TABLE.stat().st_size < 1_000_000
    notice = (location.SHIPPED_TABLE.parent / "NOTICE.md").read_text()
    assert notice.count("Copyright (c)") == 4 and "Permission is hereby granted" in notice


def test_known_values_within_the_packing_rounding(shipped):
    assert len(shipped) == 15_625 and shipped.arch_str_at(6111) == BEST_CIFAR10
    for index, metrics in KNOWN.items():
        found = shipped.metrics(shipped.arch_str_at(index))
        for metric, value in metrics.items():
            assert found[metric] == pytest.approx(value, abs=ROUNDING + 5e-5), (index, metric)
    assert shipped.optimum("cifar10/test_acc") == pytest.approx(94.3733, abs=ROUNDING + 5e-5)
    assert shipped.optimum("cifar100/test_acc") == pytest.approx(73.5133, abs=ROUNDING + 5e-5)


def test_every_shipped_value_matches_the_reference_csv(shipped, nb201_table):
    reference = MetricTable.load(nb201_table)
    assert shipped.arch_strs == reference.arch_strs and shipped.indices == reference.indices
    for column, metric in enumerate(shipped.names):
        error = np.abs(shipped.values[:, column] - reference.values[:, reference.names.index(metric)])
        assert error.max() <= ROUNDING + 1e-9, metric


def test_generator_reproduces_the_shipped_arrays(nb201_table, tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import make_nb201_packed_table as generator
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(generator, "SHIPPED_TABLE", tmp_path / "again.npz")
    generator.main(str(nb201_table))
    with np.load(tmp_path / "again.npz") as again, np.load(location.SHIPPED_TABLE) as shipped:
        for key in shipped.files:
            assert np.array_equal(again[key], shipped[key]), key


def test_round_trip_keeps_missing_cells_and_rejects_non_accuracies(tmp_path):
    table = MetricTable(tmp_path / "src.csv", [BEST_CIFAR10], [6111], ["cifar10/test_acc", "cifar10/valid_acc",
                                                                       "cifar10-valid/train_time"],
                        np.array([[94.37333333, np.nan, 1000.0]]))
    write_packed(table, tmp_path / "t.npz", ["cifar10/test_acc", "cifar10/valid_acc"])
    back = read_packed(tmp_path / "t.npz")
    assert back.metrics(BEST_CIFAR10) == {"cifar10/test_acc": pytest.approx(56624 / 600)}
    assert back.index_of(BEST_CIFAR10) == 6111
    with pytest.raises(UserError, match="only accuracies"):
        write_packed(table, tmp_path / "u.npz", ["cifar10-valid/train_time"])
    assert arch_string(arch_ops(BEST_CIFAR10)) == BEST_CIFAR10
    with pytest.raises(UserError, match="not an NB201 architecture string"):
        arch_ops("|a~0|+|b~1|")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="cannot read packed benchmark table"):
        read_packed(tmp_path / "bad.npz")


def test_shipped_table_is_the_last_resort(tmp_path, monkeypatch):
    assert NB201Benchmark({}, None).path == location.SHIPPED_TABLE
    own = tmp_path / "own.csv"
    own.write_text(f"arch_str,cifar10/test_acc\n{BEST_CIFAR10},1.5\n")
    imported = location.imported_table_path()
    imported.parent.mkdir(parents=True)
    imported.write_text(f"arch_str,cifar10/test_acc\n{BEST_CIFAR10},2.5\n")
    assert NB201Benchmark({}, None).path == imported
    monkeypatch.setenv("NASBENCH_NB201_FILE", str(own))
    assert NB201Benchmark({}, None).path == own


def test_query_works_with_no_configuration_at_all(tmp_path):
    env = {**os.environ, "NASBENCH_HOME": str(tmp_path / "empty-home"), "OMP_NUM_THREADS": "1"}
    env.pop("NASBENCH_NB201_FILE", None)
    done = subprocess.run([sys.executable, "-m", "harness.cli.main", "query", "6111"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert BEST_CIFAR10 in done.stdout and re.search(r"^cifar10/test_acc +94\.3733$", done.stdout, re.M)


def test_main_job_table_shows_the_found_cells_nb201_accuracies(tmp_path, shipped):
    from click.testing import CliRunner

    from harness.cli.main import build_cli
    from harness.store.records import load_records

    tiny = ["--method", "random", "--dataset", "synthetic", "--epochs", "1", "--device", "cpu",
            "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
            "--set", "benchmarks.options.retrain.epochs=1", "--set", "benchmarks.options.retrain.C=4"]
    result = CliRunner().invoke(build_cli(), ["run", *tiny, "--results", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("| Method"))
    for title in ("CIFAR-10 test", "CIFAR-100 test", "ImageNet16-120 test", "synthetic test"):
        assert title in header
    record = load_records(tmp_path).iloc[0]
    expected = shipped.metrics(record["arch"])
    assert record["cifar10/test_acc"] == pytest.approx(expected["cifar10/test_acc"])
    assert record["ImageNet16-120/test_acc"] == pytest.approx(expected["ImageNet16-120/test_acc"])

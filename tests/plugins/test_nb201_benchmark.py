"""The nb201 benchmark: table lookups against the reference data, file location, import, official API."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import plugins.nb201_benchmark as nb201_benchmark
import plugins.nb201_benchmark.location as location
import plugins.nb201_benchmark.table as table_module
from harness import BenchmarkUnavailable, SearchSpace, UserError
from harness.plugin.manager import load_plugins
from plugins.nb201_benchmark.benchmark import HEADLINE_METRICS, NB201Benchmark
from plugins.nb201_benchmark.table import MetricTable, higher_is_better, read_frame, write_table

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NODE_EDGES = ((0,), (1, 2), (3, 4, 5))
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"

MERGED_KEYS = {
    "cifar10-valid/valid_acc", "cifar10-valid/test_acc", "cifar10-valid/train_acc", "cifar10-valid/train_time",
    "cifar10/test_acc", "cifar100/valid_acc", "cifar100/test_acc", "ImageNet16-120/valid_acc",
    "ImageNet16-120/test_acc", "cifar10-valid/valid_acc@1seed", "cifar10-valid/valid_acc@12", "cifar10/test_acc@12",
    "cifar100/valid_acc@12", "cifar100/test_acc@12", "ImageNet16-120/valid_acc@12", "ImageNet16-120/test_acc@12",
}


class StringSpace(SearchSpace):
    """Just the NB201 architecture strings (the real space plugin is tested on its own)."""

    name = "nb201"
    op_names = OPS
    edge_names = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")

    def build_supernet(self, dataset, options):
        raise AssertionError("these tests never build networks")

    def build_network(self, arch, dataset, options):
        raise AssertionError("these tests never build networks")

    def format(self, arch):
        nodes = ["|".join(f"{OPS[arch[edge]]}~{j}" for j, edge in enumerate(edges)) for edges in NODE_EDGES]
        return "|" + "|+|".join(nodes) + "|"

    def parse(self, text):
        tokens = [token for token in text.replace("+", "|").split("|") if token]
        return tuple(OPS.index(token.split("~")[0]) for token in tokens)


class OtherSpace(StringSpace):
    name = "darts"


SPACE = StringSpace()


@pytest.fixture(autouse=True)
def no_configuration(monkeypatch, tmp_path):
    """Every test starts with nothing configured and a user data folder it can see."""
    monkeypatch.delenv("NASBENCH_TRUST_PICKLES", raising=False)
    monkeypatch.setenv("NASBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture
def without_shipped_table(monkeypatch, tmp_path):
    """As if the package data were missing (a broken install): nothing is configured at all."""
    monkeypatch.setattr(location, "SHIPPED_TABLE", tmp_path / "not-shipped.npz")


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def cli_group() -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    nb201_benchmark.nasbench_register_commands(cli)
    return cli


# --- lookups in the shared reference table ---------------------------------------------------

def test_known_values_of_the_reference_table(nb201_table):
    bench = NB201Benchmark({"file": str(nb201_table)}, None)
    best = bench.query(SPACE, SPACE.parse(BEST_CIFAR10))
    assert best["cifar10/test_acc"] == pytest.approx(94.3733, abs=1e-4)
    assert best["cifar10-valid/valid_acc"] == pytest.approx(91.6067, abs=1e-4)
    skip = bench.query(SPACE, (1,) * 6)
    assert (skip["cifar10/test_acc"], skip["cifar100/test_acc"], skip["ImageNet16-120/test_acc"]) == pytest.approx(
        (54.2967, 15.6067, 16.3222), abs=1e-4)
    assert set(best) == MERGED_KEYS


def test_official_index_order_of_the_reference_table(nb201_table):
    bench = NB201Benchmark({"file": str(nb201_table)}, None)
    assert bench.index_of(SPACE, SPACE.parse(BEST_CIFAR10)) == 6111
    assert bench.index_of(SPACE, (1,) * 6) == 1835
    assert SPACE.format(bench.arch_at(SPACE, 6111)) == BEST_CIFAR10
    assert bench.arch_at(SPACE, 1835) == (1,) * 6
    with pytest.raises(UserError, match="index 15625 is not in the benchmark table"):
        bench.arch_at(SPACE, 15625)


def test_optima_of_the_reference_table_and_where_they_are(nb201_table):
    bench = NB201Benchmark({"file": str(nb201_table)}, None)
    assert bench.optimum("cifar10/test_acc") == pytest.approx(94.3733, abs=1e-4)
    assert bench.optimum("cifar10-valid/valid_acc") == pytest.approx(91.6067, abs=1e-4)
    assert bench.optimum("cifar100/test_acc") == pytest.approx(73.5133, abs=1e-4)
    assert bench.optimum("ImageNet16-120/test_acc") == pytest.approx(47.3111, abs=1e-4)
    assert bench.query(SPACE, bench.arch_at(SPACE, 9930))["cifar100/test_acc"] == bench.optimum("cifar100/test_acc")
    assert bench.query(SPACE, bench.arch_at(SPACE, 857))["ImageNet16-120/test_acc"] == bench.optimum(
        "ImageNet16-120/test_acc")
    assert bench.optimum("cifar10/valid_acc") is None  # not in the file: never invented
    assert bench.headline_metrics() == list(HEADLINE_METRICS)


def test_import_writes_a_compact_table_with_identical_answers(nb201_table, tmp_path):
    result = CliRunner().invoke(cli_group(), ["benchmark", "import", str(nb201_table)])
    assert result.exit_code == 0, result.output
    stored = tmp_path / "home" / "benchmarks" / "nb201.csv"
    assert "imported 15625 architectures with 16 metrics" in result.output and stored.is_file()
    header = stored.read_text().splitlines()[0].split(",")
    assert header[:2] == ["index", "arch_str"] and set(header[2:]) == MERGED_KEYS

    imported = NB201Benchmark({}, None)  # no flag, no environment: finds the imported table
    assert imported.path == stored
    direct = MetricTable.load(nb201_table)
    compact = imported.source
    assert compact.arch_strs == direct.arch_strs and compact.indices == direct.indices
    for name in direct.metric_names():
        np.testing.assert_array_equal(compact.values[:, compact.names.index(name)],
                                      direct.values[:, direct.names.index(name)])
    assert imported.query(SPACE, (1,) * 6) == NB201Benchmark({"file": str(nb201_table)}, None).query(SPACE, (1,) * 6)


def test_every_table_string_round_trips_through_the_real_nb201_space(nb201_table):
    space_module = pytest.importorskip("plugins.nb201.space")
    space = space_module.NB201Space()
    bench = NB201Benchmark({"file": str(nb201_table)}, None)
    for index in range(len(bench.source)):
        arch = bench.arch_at(space, index)
        assert bench.index_of(space, arch) == index
    assert bench.query(space, space.parse(BEST_CIFAR10))["cifar10/test_acc"] == bench.optimum("cifar10/test_acc")


# --- the compact format on small constructed tables -------------------------------------------

def test_index_column_gives_the_official_order_not_the_row_order(tmp_path):
    table = write_csv(tmp_path / "t.csv", [
        {"index": 7, "arch_str": ALL_SKIP, "cifar10/test_acc": 50.0},
        {"index": 2, "arch_str": ALL_CONV, "cifar10/test_acc": 90.0},
    ])
    bench = NB201Benchmark({"file": str(table)}, None)
    assert bench.index_of(SPACE, SPACE.parse(ALL_CONV)) == 2
    assert SPACE.format(bench.arch_at(SPACE, 7)) == ALL_SKIP
    assert bench.index_of(SPACE, SPACE.parse(BEST_CIFAR10)) is None
    assert bench.query(SPACE, SPACE.parse(BEST_CIFAR10)) == {}  # a partial table knows nothing about it

    rows_only = write_csv(tmp_path / "rows.csv", [{"arch_str": ALL_SKIP, "cifar10/test_acc": 50.0},
                                                  {"arch_str": ALL_CONV, "cifar10/test_acc": 90.0}])
    assert NB201Benchmark({"file": str(rows_only)}, None).index_of(SPACE, SPACE.parse(ALL_CONV)) == 1


def test_empty_cells_are_left_out_and_optima_follow_the_metric_direction(tmp_path):
    table = write_csv(tmp_path / "t.csv", [
        {"arch_str": ALL_SKIP, "cifar10/test_acc": 50.0, "cifar10/test_loss": 1.5, "cifar10-valid/train_time": 100.0},
        {"arch_str": ALL_CONV, "cifar10/test_acc": None, "cifar10/test_loss": 0.5, "cifar10-valid/train_time": 300.0},
    ])
    bench = NB201Benchmark({"file": str(table)}, None)
    assert bench.query(SPACE, SPACE.parse(ALL_CONV)) == {"cifar10/test_loss": 0.5, "cifar10-valid/train_time": 300.0}
    assert bench.optimum("cifar10/test_acc") == 50.0
    assert bench.optimum("cifar10/test_loss") == 0.5
    assert bench.optimum("cifar10-valid/train_time") == 100.0
    assert bench.headline_metrics() == ["cifar10/test_acc"]


@pytest.mark.parametrize("rows, message", [
    ([{"arch": ALL_SKIP, "cifar10/test_acc": 1.0}], r"no 'arch_str' column \(columns: arch, cifar10/test_acc\); see"),
    ([{f"c{k}": 1.0 for k in range(10)}], r"no 'arch_str' column \(columns: c0, c1, c2, c3, c4, c5, c6, c7\); see"),
    ([{"arch_str": ALL_SKIP, "accuracy": 1.0}], "no metric columns"),
    ([{"arch_str": ALL_SKIP, "cifar10/testacc": 1.0}], r"malformed metric column\(s\) \['cifar10/testacc'\]"),
    ([{"arch_str": ALL_SKIP, "cifar10/test_acc": "high"}], "non-numeric"),
    ([{"arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}, {"arch_str": ALL_SKIP, "cifar10/test_acc": 2.0}],
     f"architecture {re.escape(ALL_SKIP)} appears twice; each architecture must have one row$"),
    ([{"index": 0.5, "arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}], "whole numbers"),
    ([{"index": "seven", "arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}], "'index' must hold whole numbers"),
    ([{"index": 5, "arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}, {"index": 5, "arch_str": ALL_CONV,
                                                                     "cifar10/test_acc": 2.0}],
     r"bad\.csv: index 5 appears twice$"),
    ([{"arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}, {"arch_str": None, "cifar10/test_acc": 2.0}],
     r"bad\.csv: 'arch_str' is empty in row 1; see docs/benchmark-table-format\.md"),
    ([{"arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}, {"arch_str": "x" * 70, "cifar10/test_acc": 2.0},
      {"arch_str": "|conv~0|", "cifar10/test_acc": 3.0}],
     r"bad\.csv: 2 row\(s\) hold no valid NAS-Bench-201 architecture string \(first: row 1, 'x{60}'; expected like"),
])
def test_malformed_tables_are_one_line_user_errors(tmp_path, rows, message):
    table = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UserError, match=message) as error:
        NB201Benchmark({"file": str(table)}, None).query(SPACE, (1,) * 6)
    assert "\n" not in error.value.message


def test_unreadable_file_is_a_user_error(tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x81" * 64)
    with pytest.raises(UserError, match="cannot read benchmark table"):
        NB201Benchmark({"file": str(garbage)}, None).headline_metrics()


@pytest.mark.parametrize("name, text", [("cut.csv", f"arch_str,cifar10/test_acc\n{ALL_SKIP},54.0\n{ALL_CONV},9"),
                                        ("CUT.CSV", f"arch_str,cifar10/test_acc\n{ALL_SKIP},5"), ("one.csv", "a")])
def test_a_csv_without_a_final_line_break_may_be_cut_off(tmp_path, name, text):
    table = tmp_path / name
    table.write_text(text)  # a download cut short, or a whole file written without the last line break
    with pytest.raises(UserError, match=rf"^benchmark table {table} does not end with a line break, so its last "
                                        r"line may be cut off \(a download cut short\): download or export it "
                                        rf"again, or, if the file is whole, add the line break \(echo >> {table}\); "
                                        "see docs/benchmark-table-format.md"):
        read_frame(table)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_csv_ending_in_any_line_break_is_whole(tmp_path, newline):
    table = tmp_path / "t.csv"
    table.write_bytes(newline.join(["arch_str,cifar10/test_acc", f"{ALL_SKIP},54.0", ""]).encode())
    assert read_frame(table).to_dict("records") == [{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}]


def test_a_parquet_table_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    def no_pyarrow(path):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_pyarrow)
    with pytest.raises(UserError, match=r"^reading Parquet table .*t\.PQ needs pyarrow: pip install "
                                        r"'nasbench\[parquet\]' \(or convert it to CSV\)$"):
        read_frame(tmp_path / "t.PQ")


@pytest.mark.parametrize("error, reason", [(OSError(), "OSError"), (ValueError("bad byte\nat 3"), "bad byte")])
def test_a_read_error_is_named_by_its_first_line_or_else_its_type(tmp_path, monkeypatch, error, reason):
    def fails(path):
        raise error

    monkeypatch.setattr(pd, "read_csv", fails)
    with pytest.raises(UserError, match=rf"^cannot read benchmark table .*t\.csv \({reason}\); see docs"):
        read_frame(tmp_path / "t.csv")


def test_an_index_outside_the_table_names_the_table(tmp_path):
    table = MetricTable.load(write_csv(tmp_path / "t.csv", [{"index": 3, "arch_str": ALL_SKIP, "cifar10/test_acc": 1.0}]))
    with pytest.raises(UserError, match=rf"^index 4 is not in the benchmark table {tmp_path / 't.csv'} "
                                        r"\(it has 1 architectures, indices 3\.\.3\)$"):
        table.arch_str_at(4)


def test_write_table_replaces_atomically_through_a_temporary_beside_it_with_the_umask_mode(tmp_path, monkeypatch):
    destination = tmp_path / "tables" / "nb201.csv"
    frame = pd.DataFrame([{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}])
    old = os.umask(0o022)
    try:
        write_table(frame, destination)
        replaced: list[tuple[str, str]] = []
        replace = os.replace
        monkeypatch.setattr(table_module.os, "replace", lambda src, dst: (replaced.append((src, dst)), replace(src, dst)))
        write_table(frame.assign(**{"cifar10/test_acc": 60.0}), destination)  # the folder exists now
    finally:
        os.umask(old)
    assert destination.read_text() == f"arch_str,cifar10/test_acc\n{ALL_SKIP},60.0\n"
    assert destination.stat().st_mode & 0o777 == 0o644
    (source, target), = replaced
    assert Path(source).parent == destination.parent and Path(target) == destination
    assert list(destination.parent.iterdir()) == [destination]


def test_a_failed_write_leaves_the_old_table_and_no_temporary(tmp_path, monkeypatch):
    destination = tmp_path / "nb201.csv"
    write_table(pd.DataFrame([{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}]), destination)
    before = destination.read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_table(pd.DataFrame([{"arch_str": ALL_CONV, "cifar10/test_acc": 90.0}]), destination)
    assert destination.read_text() == before and list(tmp_path.iterdir()) == [destination]


@pytest.mark.parametrize("metric, expected", [
    ("cifar10/test_acc", True), ("cifar10/test_acc@12", True), ("ImageNet16-120/valid_acc@1seed", True),
    ("cifar10/test_loss", False), ("cifar10-valid/train_time@200", False), ("cifar10/test_err", None),
    ("test_acc", True),
])
def test_metric_direction_comes_from_the_kind_after_the_dataset(metric, expected):
    assert higher_is_better(metric) is expected


def test_no_optimum_for_a_metric_of_unknown_direction_or_without_values(tmp_path):
    table = MetricTable.load(write_csv(tmp_path / "t.csv", [
        {"arch_str": ALL_SKIP, "cifar10/test_err": 3.0, "cifar10/test_acc": None},
        {"arch_str": ALL_CONV, "cifar10/test_err": 1.0, "cifar10/test_acc": None},
    ]))
    assert table.optimum("cifar10/test_err") is None and table.optimum("cifar10/test_acc") is None
    assert table.optimum("cifar100/test_acc") is None


def test_a_header_without_rows_and_a_missing_file_are_user_errors(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("arch_str,cifar10/test_acc\n")
    with pytest.raises(UserError, match=rf"^benchmark table {header} has a header but no architectures; see docs"):
        MetricTable.load(header)
    with pytest.raises(UserError, match=rf"^cannot read benchmark table {tmp_path / 'absent.csv'} "
                                        r"\(No such file or directory\); see docs"):
        MetricTable.load(tmp_path / "absent.csv")


def test_a_rewritten_table_is_read_again(tmp_path):
    path = write_csv(tmp_path / "t.csv", [{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}])
    assert MetricTable.load(path).metrics(ALL_SKIP) == {"cifar10/test_acc": 54.0}
    stamp = path.stat().st_mtime_ns
    write_csv(path, [{"arch_str": ALL_SKIP, "cifar10/test_acc": 61.0}])  # same size, newer time
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert MetricTable.load(path).metrics(ALL_SKIP) == {"cifar10/test_acc": 61.0}
    write_csv(path, [{"arch_str": ALL_SKIP, "cifar10/test_acc": 7.5}])  # other size, the same time
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert MetricTable.load(path).metrics(ALL_SKIP) == {"cifar10/test_acc": 7.5}


def test_parquet_tables_read_like_csv(tmp_path):
    pytest.importorskip("pyarrow")
    table = tmp_path / "t.parquet"
    pd.DataFrame([{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}]).to_parquet(table)
    assert NB201Benchmark({"file": str(table)}, None).query(SPACE, (1,) * 6) == {"cifar10/test_acc": 54.0}


# --- where the file comes from ------------------------------------------------------------------

def test_nothing_configured_is_benchmark_unavailable_with_what_to_download(without_shipped_table):
    with pytest.raises(BenchmarkUnavailable) as error:
        NB201Benchmark({}, None)
    text = error.value.message
    hints = ("NAS-Bench-201-v1_1-096897.pth", "--benchmark-file", "NASBENCH_NB201_FILE", "nasbench benchmark import")
    for hint in hints:
        assert hint in text
    assert "\n" not in text


def test_missing_file_names_the_path_and_its_origin(tmp_path, monkeypatch):
    missing = tmp_path / "nope.csv"
    with pytest.raises(UserError, match=r"nope\.csv \(from --benchmark-file\) does not exist") as error:
        NB201Benchmark({"file": str(missing)}, None)
    assert not isinstance(error.value, BenchmarkUnavailable)
    monkeypatch.setenv("NASBENCH_NB201_FILE", str(missing))
    with pytest.raises(UserError, match=r"\(from NASBENCH_NB201_FILE\) does not exist"):
        NB201Benchmark({}, None)


def test_option_beats_environment_beats_imported_table(tmp_path, monkeypatch):
    def table(name: str, accuracy: float) -> Path:
        return write_csv(tmp_path / name, [{"arch_str": ALL_SKIP, "cifar10/test_acc": accuracy}])

    imported = tmp_path / "home" / "benchmarks" / "nb201.csv"
    imported.parent.mkdir(parents=True)
    table("imported.csv", 1.0).rename(imported)
    monkeypatch.setenv("NASBENCH_NB201_FILE", str(table("env.csv", 2.0)))
    option = table("option.csv", 3.0)

    def accuracy(options: dict) -> float:
        return NB201Benchmark(options, None).query(SPACE, (1,) * 6)["cifar10/test_acc"]

    assert accuracy({"file": str(option)}) == 3.0
    assert accuracy({}) == 2.0
    monkeypatch.delenv("NASBENCH_NB201_FILE")
    assert accuracy({}) == 1.0


def test_xdg_data_home_is_the_default_user_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("NASBENCH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    stored = tmp_path / "xdg" / "nasbench" / "benchmarks" / "nb201.csv"
    stored.parent.mkdir(parents=True)
    write_csv(stored, [{"arch_str": ALL_SKIP, "cifar10/test_acc": 4.0}])
    assert NB201Benchmark({}, None).path == stored


# --- registration, space check, CLI ------------------------------------------------------------

def test_registered_as_nb201_for_the_nb201_space_only(tmp_path):
    table = write_csv(tmp_path / "t.csv", [{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}])
    bench = load_plugins(extra=[nb201_benchmark])["benchmark"].create("nb201", {"file": str(table)}, None)
    assert bench.cheap and bench.supports(SPACE) and not bench.supports(OtherSpace())
    with pytest.raises(UserError, match="only for the nb201 search space"):
        bench.query(OtherSpace(), (1,) * 6)


def test_cli_info_and_import_errors(tmp_path, without_shipped_table):
    cli = cli_group()
    runner = CliRunner()
    table = write_csv(tmp_path / "t.csv", [{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0},
                                           {"arch_str": ALL_CONV, "cifar10/test_acc": 90.5}])
    info = runner.invoke(cli, ["benchmark", "info", "--benchmark-file", str(table)])
    assert info.exit_code == 0, info.output
    assert "architectures: 2" in info.output and "cifar10/test_acc" in info.output and "90.5000" in info.output

    nothing = runner.invoke(cli, ["benchmark", "info"])
    assert nothing.exit_code == 2 and "no NAS-Bench-201 benchmark file is configured" in nothing.output
    missing = runner.invoke(cli, ["benchmark", "import", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 2 and "absent.csv does not exist" in missing.output
    unknown = runner.invoke(cli, ["benchmark", "import", str(table), "--name", "nb101"])
    assert unknown.exit_code == 2 and "known: nb201" in unknown.output


@pytest.mark.parametrize("home, blocker", [("afile", "afile"), ("home", "home/benchmarks")])
def test_import_where_a_file_stands_for_a_folder_is_one_line(tmp_path, monkeypatch, home, blocker):
    (tmp_path / "afile").write_text("")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "benchmarks").write_text("")
    monkeypatch.setenv("NASBENCH_HOME", str(tmp_path / home))
    table = write_csv(tmp_path / "t.csv", [{"arch_str": ALL_SKIP, "cifar10/test_acc": 54.0}])
    result = CliRunner().invoke(cli_group(), ["benchmark", "import", str(table)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"a file stands where a folder should be ({tmp_path / blocker}); move it away" in result.output


# --- the official .pth through the real nas_201_api, on a tiny file built here -------------------

OFFICIAL_ARCHS = [ALL_CONV, ALL_SKIP, BEST_CIFAR10]


def _trial(dataset: str, seed: int, epochs: int, train: tuple[float, float], evals: dict, epoch_time: float):
    """One training run as the NB201 authors stored it; earlier epochs are worse, so 'final' matters."""
    from nas_201_api.api_utils import ResultsCount

    result = ResultsCount(dataset, None, None, None, 0.1, 1.0, {"arch_str": ""}, seed, epochs, None)
    accuracy, loss = train
    result.update_train_info({e: accuracy - (epochs - 1 - e) for e in range(epochs)}, None,
                             {e: loss + (epochs - 1 - e) for e in range(epochs)},
                             {e: epoch_time for e in range(epochs)})
    accs = {f"{name}@{e}": acc - (epochs - 1 - e) for name, (acc, _) in evals.items() for e in range(epochs)}
    losses = {f"{name}@{e}": ls + (epochs - 1 - e) for name, (_, ls) in evals.items() for e in range(epochs)}
    result.update_eval(accs, losses, {key: 1.0 for key in accs})
    return result


def _arch_results(index: int, shift: float, epochs: int):
    """cifar10-valid with two seeds, cifar10 and cifar100 with one; no ImageNet16-120 in this file."""
    from nas_201_api import ArchResults

    results = ArchResults(index, OFFICIAL_ARCHS[index])
    results.update("cifar10-valid", 777, _trial("cifar10-valid", 777, epochs, (90 + shift, 0.3),
                                                {"x-valid": (80 + shift, 0.6), "ori-test": (79 + shift, 0.7)}, 10.0))
    results.update("cifar10-valid", 888, _trial("cifar10-valid", 888, epochs, (92 + shift, 0.1),
                                                {"x-valid": (82 + shift, 0.4), "ori-test": (81 + shift, 0.5)}, 20.0))
    if epochs == 3:
        results.update("cifar10", 777, _trial("cifar10", 777, epochs, (95 + shift, 0.2),
                                              {"ori-test": (85 + shift, 0.5)}, 30.0))
        results.update("cifar100", 777, _trial("cifar100", 777, epochs, (70 + shift, 1.0),
                                               {"x-valid": (60 + shift, 1.5), "x-test": (61 + shift, 1.4),
                                                "ori-test": (60.5 + shift, 1.45)}, 40.0))
    return results.state_dict()


@pytest.fixture
def official_file(tmp_path) -> Path:
    pytest.importorskip("nas_201_api")
    shifts = [0.0, -40.0, 3.0]
    state = {
        "meta_archs": OFFICIAL_ARCHS,
        "evaluated_indexes": [0, 1, 2],
        # 'full' = hp 200 (3 epochs here), 'less' = hp 12 (2 epochs here, cifar10-valid only, like v1_0)
        "arch2infos": {i: {"full": _arch_results(i, shifts[i], 3), "less": _arch_results(i, shifts[i], 2)}
                       for i in range(3)},
    }
    path = tmp_path / "NAS-Bench-201-tiny.pth"
    torch.save(state, path)
    return path


def test_official_pth_needs_explicit_trust(official_file):
    with pytest.raises(UserError, match="pickle") as error:
        NB201Benchmark({"file": str(official_file)}, None).query(SPACE, (1,) * 6)
    assert "NASBENCH_TRUST_PICKLES=1" in error.value.message and "--trust" in error.value.message


def test_official_pth_without_the_api_package_says_what_to_install(official_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "nas_201_api", None)  # makes `import nas_201_api` fail
    with pytest.raises(UserError, match=r"pip install 'nasbench\[nb201-api\]'"):
        NB201Benchmark({"file": str(official_file), "trust": True}, None).headline_metrics()


def test_official_metric_mapping_through_real_nas_201_api_on_a_tiny_file(official_file, monkeypatch):
    monkeypatch.setenv("NASBENCH_TRUST_PICKLES", "1")
    bench = NB201Benchmark({"file": str(official_file)}, None)
    metrics = bench.query(SPACE, SPACE.parse(BEST_CIFAR10))  # index 2, shift +3; means over seeds 777 and 888
    assert metrics == pytest.approx({
        "cifar10-valid/train_acc": 94.0, "cifar10-valid/train_loss": 0.2, "cifar10-valid/train_time": 45.0,
        "cifar10-valid/valid_acc": 84.0, "cifar10-valid/valid_loss": 0.5,
        "cifar10-valid/test_acc": 83.0, "cifar10-valid/test_loss": 0.6,
        "cifar10/train_acc": 98.0, "cifar10/train_loss": 0.2, "cifar10/train_time": 90.0,
        "cifar10/test_acc": 88.0, "cifar10/test_loss": 0.5,
        "cifar100/train_acc": 73.0, "cifar100/train_loss": 1.0, "cifar100/train_time": 120.0,
        "cifar100/valid_acc": 63.0, "cifar100/valid_loss": 1.5, "cifar100/test_acc": 64.0, "cifar100/test_loss": 1.4,
        "cifar10-valid/train_acc@12": 94.0, "cifar10-valid/train_loss@12": 0.2, "cifar10-valid/train_time@12": 30.0,
        "cifar10-valid/valid_acc@12": 84.0, "cifar10-valid/valid_loss@12": 0.5,
        "cifar10-valid/test_acc@12": 83.0, "cifar10-valid/test_loss@12": 0.6,
    })
    assert bench.index_of(SPACE, (1,) * 6) == 1 and SPACE.format(bench.arch_at(SPACE, 2)) == BEST_CIFAR10
    assert bench.optimum("cifar100/test_acc") == pytest.approx(64.0)
    assert bench.headline_metrics() == ["cifar10-valid/valid_acc", "cifar10/test_acc", "cifar100/valid_acc",
                                        "cifar100/test_acc"]


def test_import_of_the_official_file_gives_the_same_answers(official_file, tmp_path):
    runner = CliRunner()
    refused = runner.invoke(cli_group(), ["benchmark", "import", str(official_file)])
    assert refused.exit_code == 2 and "pickle" in refused.output
    result = runner.invoke(cli_group(), ["benchmark", "import", str(official_file), "--trust"])
    assert result.exit_code == 0, result.output
    official = NB201Benchmark({"file": str(official_file), "trust": True}, None)
    imported = NB201Benchmark({}, None)
    assert imported.path.suffix == ".csv"
    for index in range(3):
        arch = official.arch_at(SPACE, index)
        assert imported.index_of(SPACE, arch) == index
        assert imported.query(SPACE, arch) == pytest.approx(official.query(SPACE, arch))

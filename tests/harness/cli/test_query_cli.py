"""`nasbench query` and `nasbench benchmark import` against the real NB201 table."""
from __future__ import annotations

from click.testing import CliRunner

import plugins.nb201_benchmark.location as location
from harness.cli.main import build_cli

ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def query(*args):
    return CliRunner().invoke(build_cli(), ["query", *args])


def test_query_by_index_and_by_string(nb201_table):
    by_index = query("6111", "--benchmark-file", str(nb201_table))
    assert by_index.exit_code == 0, by_index.output
    assert "cifar10/test_acc" in by_index.output and "94.3733" in by_index.output
    by_string = query(ALL_SKIP, "--benchmark-file", str(nb201_table))
    assert "index  1835" in by_string.output
    assert "54.2967" in by_string.output and "15.6067" in by_string.output and "16.3222" in by_string.output


def test_imported_table_is_found_without_flags(nb201_table):
    imported = CliRunner().invoke(build_cli(), ["benchmark", "import", str(nb201_table)])
    assert imported.exit_code == 0, imported.output
    assert "94.3733" in query("6111").output


def test_bad_architecture_string_is_one_clear_line(nb201_table):
    result = query("|conv_3x3~0|+|", "--benchmark-file", str(nb201_table))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_without_configuration_the_shipped_table_answers():
    result = query(ALL_SKIP)
    assert result.exit_code == 0, result.output
    assert "index  1835" in result.output and "54.2967" in result.output


def test_missing_benchmark_says_what_to_download(monkeypatch, tmp_path):
    monkeypatch.setattr(location, "SHIPPED_TABLE", tmp_path / "not-shipped.npz")
    result = query(ALL_SKIP)
    assert result.exit_code == 2
    assert "NAS-Bench-201" in result.output and "--benchmark-file" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_benchmark_file_is_one_line(tmp_path):
    result = query(ALL_SKIP, "--benchmark-file", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "nope.csv" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_accuracy_that_happens_to_be_whole_keeps_its_decimals():
    result = query("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert result.exit_code == 0, result.output
    assert "cifar10-valid/test_acc       10.0000\n" in result.output

"""Where ``nasbench table --output`` may write: never over a run's own files."""
from __future__ import annotations

from click.testing import CliRunner
from run_records import write_run

from harness.cli.main import build_cli


def table(*args: str):
    return CliRunner().invoke(build_cli(), ["table", *args])


def test_a_baseline_written_over_a_record_is_refused_and_the_record_kept(tmp_path):
    results = tmp_path / "results"
    folder = write_run(results, "darts", 0, {"cifar10/test_acc": 91.5})
    before = (folder / "record.json").read_bytes()
    for output in (folder / "record.json", folder / "table.md"):
        result = table(str(results), "--format", "baseline", "--output", str(output))
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2, result.output
        assert len(lines) == 1 and lines[0].startswith("Error: --output") and str(folder) in lines[0]
    assert (folder / "record.json").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["record.json"]


def test_a_table_beside_the_results_is_written(tmp_path):
    results = tmp_path / "results"
    write_run(results, "darts", 0, {"cifar10/test_acc": 91.5})
    result = table(str(results), "--format", "baseline", "--output", str(tmp_path / "baseline.csv"))
    assert result.exit_code == 0, result.output
    assert "91.5" in (tmp_path / "baseline.csv").read_text()

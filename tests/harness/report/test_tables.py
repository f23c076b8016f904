"""Paper tables: cells, intervals and p-values against hand-computed and scipy values.

All records here are clearly synthetic test data written in the real record format.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from run_records import write_run
from scipy import stats

from harness.api.errors import UserError
from harness.cli.report import add_report_commands
from harness.plugin.manager import load_plugins
from harness.report.tables import benchmark_optima, build_table, render
from harness.store.records import load_records

DARTS = [54.0, 55.0, 56.0]
BALENAS = [93.0, 94.0, 95.0, 96.0]
T_975_DF2 = 4.302652729911275  # Student t 97.5% quantile, 2 degrees of freedom (from tables)
T_975_DF3 = 3.182446305284263  # ... 3 degrees of freedom


def render_table(records: pd.DataFrame, fmt: str, metrics: list[str] | None = None, vs: str | None = None,
                 optimal: dict[str, float] | None = None, extra_columns: bool = False) -> str:
    return render(build_table(records, metrics, vs, optimal, extra_columns), fmt)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for seed, value in enumerate(DARTS):
        write_run(root, "darts", seed, {"cifar10/test_acc": value, "cifar10-valid/valid_acc": value - 2})
    for seed, value in enumerate(BALENAS):
        write_run(root, "balenas", seed, {"cifar10/test_acc": value, "cifar10-valid/valid_acc": value - 3},
                  optimizer={"sigma_mean": 0.1 * (seed + 1)})
    write_run(root, "darts", 7, {}, status="failed")
    return root


def _records(root: Path) -> pd.DataFrame:
    return load_records(root, include_failed=True)


def _hand_mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_markdown_cells_are_mean_pm_sample_std(results: Path) -> None:
    text = render_table(_records(results), "markdown")
    assert "| darts | 3 | 53.00±1.00 | 55.00±1.00 |" in text
    mean, std = _hand_mean_std(BALENAS)
    assert f"| balenas | 4 | {mean - 3:.2f}±{std:.2f} | {mean:.2f}±{std:.2f} |" in text
    assert "sample std, ddof=1" in text
    assert "95% confidence intervals" in text


def test_a_pipe_in_a_label_stays_inside_its_markdown_cell(tmp_path: Path) -> None:
    write_run(tmp_path, "a|b", 0, {"cifar10/test_acc": 90.0}, method="darts")
    rows = [line for line in render_table(_records(tmp_path), "markdown").splitlines() if line.startswith("| a")]
    assert rows == ["| a\\|b | 1 | 90.00 | 100 | 2000 |"]


def test_csv_has_student_t_intervals(results: Path) -> None:
    cells = pd.read_csv(io.StringIO(render_table(_records(results), "csv")))
    cells = cells[cells["column"] == "cifar10/test_acc"].set_index("label")
    for label, values, quantile in (("darts", DARTS, T_975_DF2), ("balenas", BALENAS, T_975_DF3)):
        mean, std = _hand_mean_std(values)
        half = quantile * std / math.sqrt(len(values))
        row = cells.loc[label]
        assert row["n"] == len(values)
        assert row["mean"] == pytest.approx(mean)
        assert row["std"] == pytest.approx(std)
        assert row["ci95_low"] == pytest.approx(mean - half)
        assert row["ci95_high"] == pytest.approx(mean + half)


T_975_DF1 = 12.706204736174698  # ... 1 degree of freedom


def test_accuracy_intervals_are_cut_at_0_and_100(tmp_path: Path) -> None:
    """μ lies in [0, 100], so the interval cut there keeps its coverage; σ statistics are not cut."""
    write_run(tmp_path, "darts", 0, {"cifar10/test_acc": 97.0, "cifar10/test_acc@12": 1.0},
              optimizer={"sigma_mean": -0.5})
    write_run(tmp_path, "darts", 1, {"cifar10/test_acc": 99.0, "cifar10/test_acc@12": 3.0},
              optimizer={"sigma_mean": 0.5})
    table = build_table(load_records(tmp_path), metrics=["cifar10/test_acc", "cifar10/test_acc@12",
                                                         "optimizer/sigma_mean"])
    cells = table.cells.set_index("column")
    half = T_975_DF1 * math.sqrt(2.0) / math.sqrt(2)
    assert (cells.loc["cifar10/test_acc", "ci95_low"], cells.loc["cifar10/test_acc", "ci95_high"]) == (
        pytest.approx(98.0 - half), 100.0)
    assert (cells.loc["cifar10/test_acc@12", "ci95_low"], cells.loc["cifar10/test_acc@12", "ci95_high"]) == (
        0.0, pytest.approx(2.0 + half))
    assert cells.loc["optimizer/sigma_mean", "ci95_low"] == pytest.approx(-T_975_DF1 * math.sqrt(0.5) / math.sqrt(2))
    assert cells["ci95_cut"].to_dict() == {"cifar10/test_acc": True, "cifar10/test_acc@12": True,
                                           "optimizer/sigma_mean": False, "search_seconds": False,
                                           "images_per_second": False}
    assert any("cut at 0 and 100" in note for note in table.notes)
    assert not any("cut at" in note for note in build_table(_records_of(50.0, 51.0, tmp_path / "narrow")).notes)


def _records_of(first: float, second: float, root: Path) -> pd.DataFrame:
    for seed, value in enumerate((first, second)):
        write_run(root, "darts", seed, {"cifar10/test_acc": value})
    return load_records(root)


def test_significance_matches_scipy(results: Path) -> None:
    payload = json.loads(render_table(_records(results), "json", vs="darts"))
    cells = {(c["label"], c["column"]): c for c in payload["cells"]}
    balenas = cells[("balenas", "cifar10/test_acc")]
    assert balenas["welch_p"] == pytest.approx(stats.ttest_ind(BALENAS, DARTS, equal_var=False).pvalue)
    assert balenas["mannwhitney_p"] == pytest.approx(stats.mannwhitneyu(BALENAS, DARTS, alternative="two-sided").pvalue)
    assert cells[("darts", "cifar10/test_acc")]["welch_p"] is None
    markdown = render_table(_records(results), "markdown", vs="darts")
    welch = stats.ttest_ind(BALENAS, DARTS, equal_var=False).pvalue
    mwu = stats.mannwhitneyu(BALENAS, DARTS, alternative="two-sided").pvalue
    assert welch < 0.05 and mwu > 0.05  # 3 vs 4 seeds: U cannot reach 0.05 here, Welch can
    balenas_row = next(line for line in markdown.splitlines() if line.startswith("| balenas |"))
    assert "94.50±1.29 †" in balenas_row and "‡" not in balenas_row
    assert f"{welch:.3g} / {mwu:.3g}" in markdown
    assert "p-values vs darts" in markdown


def test_no_p_value_section_when_the_reference_is_the_only_method(tmp_path: Path) -> None:
    for seed, value in enumerate(DARTS):
        write_run(tmp_path, "darts", seed, {"cifar10/test_acc": value})
    markdown = render_table(_records(tmp_path), "markdown", vs="darts")
    assert "| darts | 3 |" in markdown and "95% confidence intervals" in markdown
    assert "p-values" not in markdown


def test_latex_uses_booktabs_and_bolds_the_best(results: Path) -> None:
    text = render_table(_records(results), "latex", optimal={"cifar10/test_acc": 94.37})
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in text
    mean, std = _hand_mean_std(BALENAS)
    assert rf"\textbf{{{mean:.2f}$\pm${std:.2f}}}" in text
    assert r"\textbf{55.00" not in text
    assert "optimal &  &  & 94.37" in text  # no valid-column optimum given
    assert "ddof=1" in text


def test_failed_runs_are_excluded_but_reported(results: Path) -> None:
    table = build_table(_records(results))
    darts = table.cells[(table.cells["label"] == "darts") & (table.cells["column"] == "cifar10/test_acc")].iloc[0]
    assert darts["n"] == 3 and darts["mean"] == pytest.approx(55.0)
    assert darts["seeds"] == "0 1 2" and not darts["ci95_cut"]  # failed seed 7 is not one of them
    assert any(note.startswith("1 failed run excluded") and "seed 7" in note and "NaN" in note for note in table.notes)


def test_a_loggers_copy_of_a_record_is_not_another_seed(results: Path) -> None:
    """MLflow keeps each record as an artifact under RESULTS/mlruns; only seed-<k> folders are runs."""
    (seed_0,) = results.rglob("darts/*/*/seed-0/record.json")
    artifacts = results / "mlruns" / "1" / "0123abcd" / "artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "record.json").write_text(seed_0.read_text())
    table = build_table(_records(results))
    darts = table.cells[(table.cells["label"] == "darts") & (table.cells["column"] == "cifar10/test_acc")].iloc[0]
    assert darts["n"] == 3 and not any("repeated seeds" in note for note in table.notes)


def test_a_seed_in_two_run_folders_is_named_in_a_note(results: Path) -> None:
    write_run(results, "darts", 0, {"cifar10/test_acc": 50.0}, config_hash="cfg-other")
    notes = build_table(_records(results)).notes
    assert "row 'darts' (nb201-cifar10) has repeated seeds 0" in notes


def test_default_columns_are_headline_then_retrain_test_accuracy(tmp_path: Path) -> None:
    write_run(tmp_path, "darts", 0, {"digits/test_acc": 90.0, "digits/train_acc": 99.0, "cifar10/test_acc": 54.3,
                                     "cifar10-valid/valid_acc": 39.8, "cifar10-valid/test_acc": 39.5}, dataset="digits")
    table = build_table(load_records(tmp_path))
    assert [c.title for c in table.columns] == ["CIFAR-10 valid", "CIFAR-10 test", "digits test", "Search (s)", "images/s"]


def test_space_and_dataset_columns_appear_when_they_differ(tmp_path: Path) -> None:
    write_run(tmp_path, "darts", 0, {"cifar10/test_acc": 54.0}, dataset="cifar10")
    write_run(tmp_path, "darts", 0, {"cifar10/test_acc": 60.0}, dataset="cifar100")
    text = render_table(load_records(tmp_path), "markdown")
    assert "| Method | Dataset | n |" in text
    assert "| darts | cifar100 | 1 | 60.00 |" in text


def test_optimizer_summaries_need_asking(results: Path) -> None:
    assert "sigma_mean" not in render_table(_records(results), "markdown")
    text = render_table(_records(results), "markdown", extra_columns=True)
    assert "sigma_mean" in text and "0.2500±0.1291" in text  # 4 significant digits of the mean, for both
    assert "sigma_mean" in render_table(_records(results), "markdown", metrics=["optimizer/sigma_mean"])


def test_bad_names_are_user_errors(results: Path) -> None:
    with pytest.raises(UserError, match="labels: balenas, darts"):
        render_table(_records(results), "markdown", vs="dart")
    with pytest.raises(UserError, match="available: .*cifar10/test_acc"):
        render_table(_records(results), "markdown", metrics=["cifar10/tset_acc"])


def test_optimal_row_from_the_nb201_table(results: Path, nb201_table: Path) -> None:
    import plugins.nb201_benchmark as nb201_benchmark

    plugins = load_plugins(extra=[nb201_benchmark])
    optima, notes = benchmark_optima(_records(results), ["cifar10/test_acc", "cifar10-valid/valid_acc"],
                                     nb201_table, plugins)
    assert notes == []
    assert optima["cifar10/test_acc"] == pytest.approx(94.3733, abs=1e-3)
    assert optima["cifar10-valid/valid_acc"] == pytest.approx(91.6067, abs=1e-3)


def test_optimal_row_is_skipped_with_a_note_when_unconfigured(results: Path, monkeypatch, tmp_path) -> None:
    import plugins.nb201_benchmark as nb201_benchmark
    import plugins.nb201_benchmark.location as location

    monkeypatch.setattr(location, "SHIPPED_TABLE", tmp_path / "not-shipped.npz")  # as if not installed

    optima, notes = benchmark_optima(_records(results), ["cifar10/test_acc"], None, load_plugins(extra=[nb201_benchmark]))
    assert optima == {} and notes[0].startswith("optimal row skipped")


def _cli() -> click.Group:
    group = click.Group("nasbench")
    add_report_commands(group)
    return group


def test_table_command_writes_each_format(results: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(_cli(), ["table", str(results), "--vs", "darts", "--no-optimal"])
    assert shown.exit_code == 0, shown.output
    assert "| balenas | 4 |" in shown.output and "1 failed run excluded" in shown.output
    target = tmp_path / "table.tex"
    written = runner.invoke(_cli(), ["table", str(results), "--format", "latex", "--output", str(target)])
    assert written.exit_code == 0, written.output
    assert r"\toprule" in target.read_text()
    missing = runner.invoke(_cli(), ["table", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_merged_folders_say_what_differs_in_every_format(tmp_path: Path) -> None:
    """Folders merged from two colleagues: other settings, another torch, a damaged record. Each used to be a
    stderr line at most, gone from the LaTeX, JSON and the n of the file."""
    root = tmp_path / "merged"
    for seed in range(2):
        write_run(root, "darts", seed, {"cifar10/test_acc": 90.0 + seed}, config_hash="cfg-a",
                  config={"search": {"epochs": 2, "lr": 0.025}, "seed": seed},
                  versions={"torch": "2.13.0+cpu", "nasbench": "0.1.0"}, device="cpu")
    write_run(root, "darts", 5, {"cifar10/test_acc": 93.0}, config_hash="cfg-b",
              config={"search": {"epochs": 3, "lr": 0.025}, "seed": 5},
              versions={"torch": "2.5.1+cu121", "nasbench": "0.1.0"}, device="cuda")
    damaged = write_run(root, "darts", 9, {"cifar10/test_acc": 10.0}, config_hash="cfg-a")
    (damaged / "record.json").write_text('{"status": "finis')
    runner = CliRunner()
    payload = json.loads(runner.invoke(_cli(), ["table", str(root), "--no-optimal", "--format", "json"]).output)
    expected = ["row 'darts' (nb201-cifar10) merges 2 configurations (cfg-a, cfg-b) that differ in search.epochs 2 / 3; "
                "give them distinct labels (--label), or tabulate their folders apart",
                "row 'darts' (nb201-cifar10) mixes seeds computed with torch 2.13.0+cpu, 2.5.1+cu121; device cpu, cuda"]
    assert all(note in payload["notes"] for note in expected), payload["notes"]
    assert any(f"{damaged / 'record.json'} is not valid JSON" in note for note in payload["notes"])
    latex = runner.invoke(_cli(), ["table", str(root), "--no-optimal", "--format", "latex"]).output
    assert r"\par\footnotesize Note: row 'darts' (nb201-cifar10) mixes seeds computed with torch" in latex
    markdown = runner.invoke(_cli(), ["table", str(root), "--no-optimal"]).output
    assert markdown.count("is not valid JSON") == 1  # in the table's notes, not a second time on stderr

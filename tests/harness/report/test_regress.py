"""The CI gate: baseline round trip, one-sided Welch decisions, tolerance fallback, exit codes.

Records are clearly synthetic test data written in the real record format.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from run_records import write_run
from scipy import stats

from harness.api.errors import UserError
from harness.cli.report import add_report_commands
from harness.report.environment import differences, environment_path, read_environment, results_environment
from harness.report.regress import compare, read_baseline
from harness.report.settings import settings_path
from harness.report.tables import BASELINE_COLUMNS
from harness.store.records import load_records

BASE = [90.1, 89.8, 90.3, 90.0, 89.9]
WORSE = [85.2, 84.9, 85.5, 85.1, 84.8]


def _cli() -> click.Group:
    group = click.Group("nasbench")
    add_report_commands(group)
    return group


def _results(root: Path, values: list[float], label: str = "darts", **environment) -> Path:
    for seed, value in enumerate(values):
        write_run(root, label, seed, {"digits/test_acc": value}, dataset="digits", **environment)
    return root


def _baseline(tmp_path: Path, values: list[float], label: str = "darts", **environment) -> Path:
    """Write the baseline the way users do: `nasbench table --format baseline`."""
    target = tmp_path / "baseline.csv"
    result = CliRunner().invoke(_cli(), ["table", str(_results(tmp_path / "base", values, label, **environment)),
                                         "--format", "baseline", "--output", str(target)])
    assert result.exit_code == 0, result.output
    return target


def _regress(baseline: Path, results: Path, *options: str):
    return CliRunner().invoke(_cli(), ["regress", "--baseline", str(baseline), str(results), *options])


def test_baseline_stores_one_row_per_seed(tmp_path: Path) -> None:
    frame = read_baseline(_baseline(tmp_path, BASE))
    assert list(frame.columns) == BASELINE_COLUMNS
    assert frame["seed"].tolist() == [0, 1, 2, 3, 4]
    assert frame["value"].tolist() == pytest.approx(BASE)
    assert set(frame["metric"]) == {"digits/test_acc"} and set(frame["label"]) == {"darts"}


def test_equal_results_pass(tmp_path: Path) -> None:
    result = _regress(_baseline(tmp_path, BASE), _results(tmp_path / "now", BASE))
    assert result.exit_code == 0, result.output
    assert "OK: 1 checks, no regression" in result.output and "+0.00" in result.output


def test_clearly_worse_with_five_seeds_fails(tmp_path: Path) -> None:
    result = _regress(_baseline(tmp_path, BASE), _results(tmp_path / "now", WORSE))
    assert result.exit_code == 1, result.output
    p = stats.ttest_ind(WORSE, BASE, equal_var=False, alternative="less").pvalue
    delta = sum(WORSE) / 5 - sum(BASE) / 5
    assert f"{delta:+.2f}" in result.output and f"{p:.3g}" in result.output
    assert "REGRESSION" in result.output and "FAIL: 1 of 1 checks failed" in result.output


def test_drop_beyond_tolerance_without_statistical_support_passes(tmp_path: Path) -> None:
    noisy_base = [95.0, 85.0, 92.0, 80.0, 98.0]
    noisy_now = [v - 1.5 for v in [98.0, 80.0, 95.0, 85.0, 92.0]]
    p = stats.ttest_ind(noisy_now, noisy_base, equal_var=False, alternative="less").pvalue
    assert p > 0.05
    result = _regress(_baseline(tmp_path, noisy_base), _results(tmp_path / "now", noisy_now))
    assert result.exit_code == 0, result.output
    assert "worse, not significant" in result.output


def test_two_seeds_fall_back_to_the_tolerance_and_say_so(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, [90.0, 90.2])
    slightly = _regress(baseline, _results(tmp_path / "slightly", [89.6, 89.8]))
    assert slightly.exit_code == 0, slightly.output
    assert ("note: darts [darts, nb201-digits]: 2 baseline / 2 current seeds (< 3) for 1 metric(s), no t-test; the "
            "tolerance alone decides") in slightly.output
    clearly = _regress(baseline, _results(tmp_path / "clearly", [88.0, 88.4]), "--tolerance", "1.0")
    assert clearly.exit_code == 1, clearly.output
    assert "no t-test; the tolerance alone decides" in clearly.output and "REGRESSION" in clearly.output


def test_missing_rows_fail_with_a_clear_line(tmp_path: Path) -> None:
    both = _results(_results(tmp_path / "base", BASE), BASE, label="pgnas")
    baseline = tmp_path / "two.csv"
    assert CliRunner().invoke(_cli(), ["table", str(both), "--format", "baseline", "-o", str(baseline)]).exit_code == 0
    result = _regress(baseline, _results(_results(tmp_path / "now", BASE, label="balenas"), BASE, label="pgnas"))
    assert result.exit_code == 1
    assert "missing in current results: darts [darts, nb201-digits] digits/test_acc" in result.output
    assert "not in the baseline (not checked): balenas" in result.output


def test_failed_current_runs_are_left_out_and_named(tmp_path: Path) -> None:
    root = _results(tmp_path / "now", BASE[:4])
    write_run(root, "darts", 4, {}, status="failed", dataset="digits")
    comparison = compare(read_baseline(_baseline(tmp_path, BASE)), load_records(root, include_failed=True))
    assert comparison.lines.loc[0, "current_n"] == 4
    assert any("1 failed run excluded" in note and "seed 4" in note for note in comparison.notes)


def test_unusable_baselines_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_baseline(tmp_path / "none.csv")
    broken = tmp_path / "broken.csv"
    pd.DataFrame({"label": ["darts"], "metric": ["digits/test_acc"]}).to_csv(broken, index=False)
    result = _regress(broken, _results(tmp_path / "now", BASE))
    assert result.exit_code == 2 and "lacks columns" in result.output


# --- the exact check in the baseline's environment --------------------------------------

VERSIONS = {"nasbench": "0.1.0", "torch": "2.13.0+cpu", "numpy": "2.4.6", "python": "3.11.7",
            "cpu_capability": "AVX2", "threads": "1"}
PINNED = {"versions": VERSIONS, "device": "cpu (x86_64)"}


def test_baseline_records_the_environment_of_its_runs(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    assert read_environment(baseline) == {"torch": "2.13.0+cpu", "numpy": "2.4.6", "python": "3.11",
                                          "device": "cpu (x86_64)", "cpu_capability": "AVX2", "threads": "1",
                                          "stacking": "alone"}
    assert environment_path(baseline) == tmp_path / "baseline.environment.json"


def test_same_environment_a_shift_within_tolerance_fails_as_changed(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    assert _regress(baseline, _results(tmp_path / "same", BASE, **PINNED)).exit_code == 0
    for name, shift in (("up", 0.3), ("down", -0.5)):  # both pass the statistical gate (tolerance 1.0)
        result = _regress(baseline, _results(tmp_path / name, [v + shift for v in BASE], **PINNED))
        assert result.exit_code == 1, result.output
        assert "same environment as the baseline" in result.output and "CHANGED" in result.output
        assert f"seed 0: 90.1 → {90.1 + shift:.6g}" in result.output


def test_a_single_seed_moving_is_enough_in_the_same_environment(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    moved = [*BASE[:4], BASE[4] + 1e-6]
    result = _regress(baseline, _results(tmp_path / "now", moved, **PINNED))
    assert result.exit_code == 1 and "seed 4: 89.9 → 89.9" in result.output


def test_a_seed_missing_in_the_same_environment_fails(tmp_path: Path) -> None:
    """Failed, damaged or not run: a baseline seed without a current value was not reproduced."""
    baseline = _baseline(tmp_path, BASE, **PINNED)
    now = _results(tmp_path / "now", BASE, **PINNED)
    (record,) = now.rglob("seed-0/record.json")
    record.write_text(record.read_text()[:50])
    result = _regress(baseline, now, "--require-pinned")
    assert result.exit_code == 1, result.output
    assert ("darts [darts, nb201-digits]: baseline seed(s) 0 have no current value for 1 metric(s) (failed, "
            "unreadable or not run)") in result.output
    assert "| MISSING SEEDS |" in result.output and "CHANGED" not in result.output
    assert "FAIL: 1 of 1 checks failed" in result.output


def test_baselines_with_odd_seeds_or_repeated_rows_are_refused(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE)
    text = baseline.read_text().splitlines()
    (tmp_path / "seed.csv").write_text("\n".join([*text[:2], text[2].replace(",1,", ",x,"), *text[3:]]) + "\n")
    with pytest.raises(UserError, match=r"seeds that are not integers in rows \[3\]"):
        read_baseline(tmp_path / "seed.csv")
    (tmp_path / "twice.csv").write_text("\n".join([*text, text[1]]) + "\n")
    with pytest.raises(UserError, match=r"lists a seed's metric twice in rows \[7\]"):
        read_baseline(tmp_path / "twice.csv")


def test_another_environment_gets_the_statistical_check_only_and_says_why(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    other = {"versions": {**VERSIONS, "threads": "4"}, "device": "cpu (x86_64)"}
    shifted = _results(tmp_path / "now", [v + 0.3 for v in BASE], **other)
    result = _regress(baseline, shifted)
    assert result.exit_code == 0, result.output
    assert "the environment differs from the baseline's: threads 4 (baseline 1)" in result.output
    assert "CHANGED" not in result.output
    refused = _regress(baseline, shifted, "--require-pinned")
    assert refused.exit_code == 2 and "--require-pinned: the environment differs" in refused.output


def test_stacked_runs_are_not_compared_exactly_with_a_baseline_of_runs_alone(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    shifted = _results(tmp_path / "now", [v + 0.3 for v in BASE], **PINNED, stacked_seeds=5)
    result = _regress(baseline, shifted)
    assert result.exit_code == 0, result.output
    assert "stacking stacked (baseline alone)" in result.output and "CHANGED" not in result.output


def test_a_baseline_from_before_stacking_existed_was_made_alone(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    environment = read_environment(baseline)
    del environment["stacking"]
    environment_path(baseline).write_text(json.dumps(environment))
    result = _regress(baseline, _results(tmp_path / "now", [v + 0.3 for v in BASE], **PINNED))
    assert result.exit_code == 1 and "same environment as the baseline" in result.output


def test_baseline_without_environment_or_runs_without_versions_cannot_be_pinned(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path, BASE, **PINNED)
    environment_path(baseline).unlink()
    result = _regress(baseline, _results(tmp_path / "now", BASE, **PINNED), "--require-pinned")
    assert result.exit_code == 2 and "the baseline records no environment" in result.output
    old_runs = _results(tmp_path / "old", BASE)  # records from before versions were recorded
    assert differences(results_environment(old_runs), results_environment(old_runs))


def test_mixed_environments_are_not_one_environment(tmp_path: Path) -> None:
    root = _results(tmp_path / "now", BASE[:2], **PINNED)
    write_run(root, "darts", 2, {"digits/test_acc": 90.0}, dataset="digits",
              versions={**VERSIONS, "torch": "2.4.0"}, device="cpu (x86_64)")
    environment = results_environment(root)
    assert environment["torch"] == "mixed: 2.13.0+cpu, 2.4.0"
    assert differences(environment, environment) == [
        "torch is mixed: 2.13.0+cpu, 2.4.0 in both, so a seed need not match its baseline seed exactly"]


def _configured(root: Path, values: list[float], label: str = "darts", **config) -> Path:
    """Runs whose config.json holds ``config`` on top of a machine's own keys (seed, device, paths)."""
    for seed, value in enumerate(values):
        full = {"seed": seed, "device": "cpu", "threads": 1, "label": label,
                "dataset": {"name": "digits", "data_dir": f"/home/{label}/data"},
                "benchmarks": {"names": ["nb201"], "options": {"nb201": {"file": "/tables/nb201.csv"}}}, **config}
        write_run(root, label, seed, {"digits/test_acc": value}, dataset="digits", config=full)
    return root


def _baseline_of(tmp_path: Path, results: Path) -> Path:
    target = tmp_path / "baseline.csv"
    result = CliRunner().invoke(_cli(), ["table", str(results), "--format", "baseline", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert f"and {settings_path(target)}" in result.output
    return target


def test_baseline_records_each_labels_settings_without_the_machines_keys(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    assert json.loads(settings_path(baseline).read_text()) == {
        "darts [darts, nb201-digits]": {"benchmarks.names": '["nb201"]', "dataset.name": '"digits"', "search.epochs": "3"}}


def test_runs_with_other_settings_fail_as_settings_and_say_which(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    result = _regress(baseline, _configured(tmp_path / "now", BASE, search={"epochs": 5}, space={"name": "nb201"}))
    assert result.exit_code == 1
    assert "| SETTINGS |" in result.output
    assert ("note: darts [darts, nb201-digits] was made with other settings than the baseline: search.epochs 5 (baseline 3); "
            "space.name \"nb201\" (baseline (not set)); its values are not compared") in result.output


def test_another_machines_paths_seeds_and_threads_are_not_other_settings(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    elsewhere = _configured(tmp_path / "now", BASE, search={"epochs": 3})
    for config_file in elsewhere.rglob("config.json"):
        config = json.loads(config_file.read_text())
        config.update(threads=8, device="cuda:1")
        config["dataset"]["data_dir"] = "/scratch/digits"
        config_file.write_text(json.dumps(config))
    result = _regress(baseline, elsewhere)
    assert result.exit_code == 0, result.output
    assert "SETTINGS" not in result.output and "other settings" not in result.output


def test_a_benchmark_option_at_its_default_on_one_side_only_is_no_other_setting(tmp_path: Path) -> None:
    """--benchmark-file writes the benchmark's other options (at their defaults) into the config; a
    baseline made without it holds none of them."""
    plain = {"benchmarks": {"names": ["nb201"], "options": {}}, "search": {"epochs": 3}}
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, **plain))
    with_file = {"benchmarks": {"names": ["nb201"], "options": {"nb201": {"file": "/x/nb201.csv", "trust": False}}},
                 "search": {"epochs": 3}}
    result = _regress(baseline, _configured(tmp_path / "now", BASE, **with_file))
    assert result.exit_code == 0 and "SETTINGS" not in result.output, result.output
    trusted = {**with_file, "benchmarks": {"names": ["nb201"], "options": {"nb201": {"file": "/x", "trust": True}}}}
    result = _regress(baseline, _configured(tmp_path / "trusted", BASE, **trusted))
    assert "benchmarks.options.nb201.trust true (baseline (not set))" in result.output


def test_a_label_run_with_two_sets_of_settings_is_not_compared(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    now = _configured(tmp_path / "now", BASE, search={"epochs": 3})
    write_run(now, "darts", 9, {"digits/test_acc": 90.0}, dataset="digits", config_hash="cfg-other",
              config={"search": {"epochs": 4}})
    result = _regress(baseline, now)
    assert result.exit_code == 1
    assert "darts [darts, nb201-digits] was made with other settings than the baseline: the current runs were made " \
           "with more than one set of settings" in result.output


def test_a_baseline_is_not_made_from_runs_of_two_settings(tmp_path: Path) -> None:
    mixed = _configured(tmp_path / "base", BASE, search={"epochs": 3})
    write_run(mixed, "darts", 7, {"digits/test_acc": 90.0}, dataset="digits", config_hash="cfg-other",
              config={"search": {"epochs": 4}})
    target = tmp_path / "baseline.csv"
    result = CliRunner().invoke(_cli(), ["table", str(mixed), "--format", "baseline", "--output", str(target)])
    assert result.exit_code != 0 and not target.exists()
    assert "the runs of darts [darts, nb201-digits] were made with more than one set of settings" in result.output


def test_one_label_on_two_datasets_is_checked_per_dataset(tmp_path: Path) -> None:
    base = _configured(tmp_path / "base", BASE, search={"epochs": 3})
    for seed, value in enumerate(BASE):
        write_run(base, "darts", seed, {"synthetic/test_acc": value}, dataset="synthetic",
                  config={"dataset": {"name": "synthetic"}, "search": {"epochs": 3}})
    baseline = _baseline_of(tmp_path, base)
    now = _configured(tmp_path / "now", BASE, search={"epochs": 3})
    for seed, value in enumerate(BASE):
        write_run(now, "darts", seed, {"synthetic/test_acc": value}, dataset="synthetic",
                  config={"dataset": {"name": "synthetic"}, "search": {"epochs": 1}})
    result = _regress(baseline, now)
    assert result.exit_code == 1
    lines = {line.split("|")[4].strip(): line.split("|")[-2].strip() for line in result.output.splitlines()
             if line.startswith("| darts")}
    assert lines == {"digits/test_acc": "ok", "synthetic/test_acc": "SETTINGS"}
    assert "darts [darts, nb201-synthetic] was made with other settings than the baseline: search.epochs 1 " \
           "(baseline 3)" in result.output


def test_baseline_rows_without_recorded_settings_say_so(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE))
    settings_path(baseline).write_text("{}")
    result = _regress(baseline, _configured(tmp_path / "now", BASE))
    assert result.exit_code == 0
    assert "darts [darts, nb201-digits]: the baseline records no settings for it" in result.output


def test_a_baseline_without_settings_says_what_it_cannot_tell(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    settings_path(baseline).unlink()
    result = _regress(baseline, _configured(tmp_path / "now", BASE, search={"epochs": 5}))
    assert result.exit_code == 0
    assert f"the baseline records no settings ({settings_path(baseline)} is missing)" in result.output


@pytest.mark.parametrize("text, message", [("{cut", "is not valid JSON"), ("[1]", "must hold one JSON object"),
                                           ('{"darts": 3}', "must hold, per label and dataset, its settings")])
def test_a_damaged_settings_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE))
    settings_path(baseline).write_text(text)
    result = _regress(baseline, _configured(tmp_path / "now", BASE))
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


def test_runs_without_a_readable_config_say_their_settings_are_not_checked(tmp_path: Path) -> None:
    baseline = _baseline_of(tmp_path, _configured(tmp_path / "base", BASE, search={"epochs": 3}))
    now = _configured(tmp_path / "now", BASE, search={"epochs": 5})
    damaged = sorted(now.rglob("config.json"))
    for config_file in damaged:
        config_file.write_text("{")
    result = _regress(baseline, now)
    assert "SETTINGS" not in result.output  # it cannot tell, and says so for every run
    for config_file in damaged:
        assert f"note: {config_file} is missing or damaged, so the settings of this run are not checked" in result.output
    made = CliRunner().invoke(_cli(), ["table", str(now), "--format", "baseline", "--output", str(tmp_path / "b.csv")])
    assert made.exit_code == 0 and f"note: {damaged[0]} is missing or damaged" in made.output


def test_a_settings_file_listing_a_label_the_baseline_has_no_rows_for_is_refused(tmp_path: Path) -> None:
    base = _configured(_configured(tmp_path / "base", BASE), BASE, label="balenas")
    baseline = _baseline_of(tmp_path, base)
    lines = baseline.read_text().splitlines(keepends=True)
    baseline.write_text("".join(line for line in lines if not line.startswith("balenas,")))  # cut at a line end
    result = _regress(baseline, base)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"{settings_path(baseline)} lists balenas [balenas, nb201-digits], which the baseline CSV has no rows "
            "for: one of the two is cut or damaged") in result.output


def test_a_baseline_of_some_metrics_records_the_settings_of_its_rows_only(tmp_path: Path) -> None:
    base = _configured(tmp_path / "base", BASE)
    write_run(base, "random", 0, {"other/acc": 50.0}, dataset="digits", config={"seed": 0, "label": "random"})
    target = tmp_path / "baseline.csv"
    made = CliRunner().invoke(_cli(), ["table", str(base), "--format", "baseline", "--metrics", "digits/test_acc",
                                       "--output", str(target)])
    assert made.exit_code == 0, made.output
    assert list(json.loads(settings_path(target).read_text())) == ["darts [darts, nb201-digits]"]
    assert _regress(target, base).exit_code == 0


def test_a_folder_without_any_of_the_baselines_runs_is_bad_input_not_a_regression(tmp_path: Path) -> None:
    """Every check MISSING and exit 1 looked like a regression to CI; it is the wrong folder."""
    baseline = _baseline(tmp_path, BASE)
    result = _regress(baseline, _results(tmp_path / "other", BASE[:3], label="balenas"))
    assert result.exit_code == 2, result.output
    assert (f"none of the baseline's runs are under {tmp_path / 'other'} (it holds balenas (nb201-digits)); pass the "
            "results folder of the runs under test") in result.output
    partly = _results(tmp_path / "partly", BASE[:3], label="balenas")
    _results(partly, BASE[:1])
    compared = _regress(baseline, partly)  # darts is there, with one seed of five: compared, not refused
    assert compared.exit_code in (0, 1) and "none of the baseline's runs" not in compared.output

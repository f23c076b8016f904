"""`nasbench epochs`: per seed, the best epoch against the final one and the chosen architecture."""
from __future__ import annotations

from click.testing import CliRunner
from run_records import write_run

from harness.cli.main import build_cli
from harness.report.epochs import epoch_table

METRIC = "cifar10/test_acc"


def _trajectory(accuracies: list[float], skips: list[int]) -> list[dict]:
    return [{"epoch": e + 1, "arch": f"a{e}", "skip_connect": s, METRIC: a}
            for e, (a, s) in enumerate(zip(accuracies, skips))]


def _collapse_and_rescue(root):
    write_run(root, "darts", 0, {METRIC: 70.0}, trajectory=_trajectory([80.0, 93.0, 85.0, 70.0], [1, 2, 4, 5]))
    write_run(root, "darts", 1, {METRIC: 90.0}, trajectory=_trajectory([91.0, 90.5, 90.0, 90.0], [0, 1, 1, 2]))
    write_run(root, "darts-pt", 0, {METRIC: 91.5}, trajectory=_trajectory([80.0, 93.0, 85.0, 70.0], [1, 2, 4, 5]))
    write_run(root, "darts", 2, {}, status="failed", trajectory=_trajectory([99.0], [0]))


def test_each_seed_gets_its_best_final_and_chosen_accuracy(tmp_path):
    _collapse_and_rescue(tmp_path)
    frame, metric = epoch_table(tmp_path)
    assert metric == METRIC
    rows = {(r.label, r.seed): r for r in frame.itertuples()}
    assert set(rows) == {("darts", 0), ("darts", 1), ("darts-pt", 0)}, "failed runs are left out"
    collapsed = rows["darts", 0]
    assert (collapsed.best_epoch, collapsed.best, collapsed.best_skip) == (2, 93.0, 2)
    assert (collapsed.final_epoch, collapsed.final, collapsed.final_skip) == (4, 70.0, 5)
    assert collapsed.best_minus_final == 23.0
    assert rows["darts", 1].best_epoch == 1 and rows["darts", 1].best_minus_final == 1.0
    assert rows["darts-pt", 0].chosen == 91.5 and rows["darts-pt", 0].final == 70.0


def test_cli_prints_seeds_and_means(tmp_path):
    _collapse_and_rescue(tmp_path)
    result = CliRunner().invoke(build_cli(), ["epochs", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| darts | 0 | 2: 93.00 (2 skip) | 4: 70.00 (5 skip) | 70.00 | 23.00 |" in result.output
    assert "| **darts** mean | 2 | 92.00 (1.0 skip) | 80.00 (3.5 skip) | 80.00 | 12.00 |" in result.output


def test_a_label_without_trajectories_beside_others_gets_a_note(tmp_path):
    _collapse_and_rescue(tmp_path)
    write_run(tmp_path, "random", 0, {METRIC: 80.0})
    notes: list[str] = []
    frame, _ = epoch_table(tmp_path, notes=notes)
    assert "random" not in set(frame["label"])
    assert ("random: no per-epoch cifar10/test_acc (a method that searches nothing writes no trajectory), so no rows "
            "here") in notes


def test_runs_without_trajectories_are_one_clear_line(tmp_path):
    write_run(tmp_path, "random", 0, {METRIC: 80.0})
    result = CliRunner().invoke(build_cli(), ["epochs", str(tmp_path)])
    assert result.exit_code != 0 and "write none" in result.output and "Traceback" not in result.output


def test_a_label_over_two_configurations_gets_the_tables_note(tmp_path):
    _collapse_and_rescue(tmp_path)
    write_run(tmp_path, "darts", 0, {METRIC: 88.0}, trajectory=_trajectory([88.0], [0]), config_hash="cfg-other")
    notes: list[str] = []
    epoch_table(tmp_path, notes=notes)
    assert ("row 'darts' (nb201-cifar10) merges 2 configurations (cfg-darts, cfg-other); give them distinct labels (--label), "
            "or tabulate their folders apart") in notes
    assert "row 'darts' (nb201-cifar10) has repeated seeds 0" in notes


def test_a_metric_that_is_not_a_benchmark_accuracy_is_one_line(tmp_path):
    _collapse_and_rescue(tmp_path)
    for metric in ("arch", "train_loss", "nosuch/test_acc"):
        result = CliRunner().invoke(build_cli(), ["epochs", str(tmp_path), "--metric", metric])
        assert result.exit_code == 2, result.output
        assert f"metric '{metric}' is not a benchmark accuracy in the trajectories; available: {METRIC}" in result.output


def test_a_per_epoch_metric_the_records_lack_has_no_chosen_value(tmp_path):
    write_run(tmp_path, "darts", 0, {METRIC: 70.0},
              trajectory=[{**row, "cifar100/test_acc": 40.0 + row["epoch"]} for row in _trajectory([80.0, 93.0], [1, 2])])
    frame, _ = epoch_table(tmp_path, "cifar100/test_acc")
    assert frame.loc[0, "best"] == 42.0 and frame.loc[0, "chosen"] != frame.loc[0, "chosen"]  # NaN

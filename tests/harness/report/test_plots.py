"""Trajectory plots from synthetic results folders: files, image validity and plotted numbers."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image
from run_records import write_run

from harness.cli.report import add_report_commands
from harness.report.plots import _figures, accuracy_metric, band_figure, plot_results
from harness.store.records import load_trajectories

EPOCHS = 4


def _trajectory(seed: int, slope: float, metric: str = "cifar10/test_acc", hessian: bool = True) -> list[dict]:
    """Synthetic per-epoch rows with the runner's columns; accuracy = 50 + slope·epoch + seed."""
    rows = []
    for epoch in range(1, EPOCHS + 1):
        row = {"epoch": epoch, "arch": "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
               "skip_connect": epoch + seed % 2, "train_loss": 1.0 / epoch, "train_acc": 50.0 + epoch,
               "valid_acc": 40.0 + epoch, "lr": 0.025 / epoch, "seconds": 10.0 * epoch, "images_per_second": 500.0,
               metric: 50.0 + slope * epoch + seed, "opt/max_prob_mean": 0.2 + 0.01 * epoch}
        if hessian:
            row["hessian_eigenvalue"] = 0.1 * epoch * (seed + 1)
        rows.append(row)
    return rows


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for seed in range(3):
        write_run(root, "darts", seed, {"cifar10/test_acc": 54.0}, trajectory=_trajectory(seed, slope=-2.0))
        write_run(root, "balenas", seed, {"cifar10/test_acc": 93.0}, trajectory=_trajectory(seed, slope=3.0))
    write_run(root, "balenas", 9, {}, status="failed", trajectory=_trajectory(9, slope=-50.0))
    return root


def _assert_images(paths: list[Path]) -> None:
    for path in paths:
        assert path.exists() and path.stat().st_size > 1000, path
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.verify()
                assert image.format == "PNG" and image.size[0] > 400
        else:
            assert path.read_bytes().startswith(b"%PDF")


def test_writes_the_three_figures_in_both_formats(results: Path, tmp_path: Path) -> None:
    report = plot_results(results, tmp_path / "plots", ["png", "pdf"])
    names = sorted(p.name for p in report.files)
    assert names == sorted(f"{stem}.{fmt}" for stem in ("test_accuracy", "skip_connect", "hessian_eigenvalue")
                           for fmt in ("png", "pdf"))
    _assert_images(report.files)
    assert report.notes == ["1 failed run(s) left out of the plots"]


def test_lines_are_seed_means_with_std_bands(results: Path) -> None:
    trajectories = load_trajectories(results)
    figure = band_figure(trajectories[trajectories["status"] == "finished"], "cifar10/test_acc", "title", "acc (%)")
    axes = figure.axes[0]
    lines = {line.get_label(): line for line in axes.lines}
    assert set(lines) == {"balenas (n=3)", "darts (n=3)"}
    epochs = np.arange(1, EPOCHS + 1)
    # seeds add 0, 1, 2 → mean offset 1, sample std 1
    np.testing.assert_allclose(lines["darts (n=3)"].get_ydata(), 50.0 - 2.0 * epochs + 1.0)
    np.testing.assert_allclose(lines["balenas (n=3)"].get_ydata(), 50.0 + 3.0 * epochs + 1.0)
    band = axes.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx((50.0 + 3.0 + 1.0) - 1.0) and band.max() == pytest.approx((50 + 12 + 1) + 1.0)
    assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == "acc (%)" and axes.get_legend() is not None


def test_metric_falls_back_to_the_first_test_accuracy() -> None:
    frame = pd.DataFrame(_trajectory(0, 1.0, metric="digits/test_acc"))
    assert accuracy_metric(frame) == "digits/test_acc"
    frame["cifar10/test_acc"] = 1.0
    assert accuracy_metric(frame) == "cifar10/test_acc"
    assert accuracy_metric(frame.drop(columns=["digits/test_acc", "cifar10/test_acc"])) is None


def test_no_hessian_column_no_hessian_figure(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_run(root, "darts", 0, {}, dataset="digits", trajectory=_trajectory(0, 1.0, "digits/test_acc", hessian=False))
    report = plot_results(root, tmp_path / "out", ["png"])
    assert sorted(p.name for p in report.files) == ["skip_connect.png", "test_accuracy.png"]


def test_plot_command(results: Path, tmp_path: Path) -> None:
    group = click.Group("nasbench")
    add_report_commands(group)
    result = CliRunner().invoke(group, ["plot", str(results), "--format", "png", "--output-dir", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "test_accuracy.png" in result.output
    _assert_images(sorted((tmp_path / "p").glob("*.png")))
    bad = CliRunner().invoke(group, ["plot", str(results), "--format", "gif"])
    assert bad.exit_code == 2 and "known: png, pdf, svg" in bad.output


def test_sigma_is_plotted_when_present_and_extra_columns_on_request(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    rows = [{**row, "opt/sigma_mean": 1.0 / row["epoch"]} for row in _trajectory(0, 1.0, hessian=False)]
    write_run(root, "balenas", 0, {}, trajectory=rows)
    report = plot_results(root, tmp_path / "out", ["png"], columns=["opt/max_prob_mean", "opt/absent"])
    assert sorted(p.name for p in report.files) == ["opt-max_prob_mean.png", "opt-sigma_mean.png",
                                                    "skip_connect.png", "test_accuracy.png"]
    assert report.notes == ["nb201-cifar10: no values of 'opt/absent' in the trajectories; its plot skipped"]
    sigma = band_figure(load_trajectories(root), "opt/sigma_mean", "σ", "σ").axes[0].lines[0]
    np.testing.assert_allclose(sigma.get_ydata(), [1.0, 0.5, 1 / 3, 0.25])


def test_error_plots_100_minus_the_accuracy_on_a_log_axis(results: Path, tmp_path: Path) -> None:
    report = plot_results(results, tmp_path / "out", ["png"], metric="cifar10/test_acc", error=True)
    assert "error.png" in [p.name for p in report.files] and "test_accuracy.png" not in [p.name for p in report.files]
    trajectories = load_trajectories(results)
    figures, _ = _figures(trajectories[trajectories["status"].eq("finished")], "w", "cifar10/test_acc", [], True)
    axes = figures["error"].axes[0]
    assert axes.get_yscale() == "log"
    darts = [line for line in axes.lines if line.get_label().startswith("darts")][0]
    # accuracy = 50 - 2·epoch + seed, mean over seeds 0-2: 51 - 2·epoch; error = 49 + 2·epoch
    np.testing.assert_allclose(darts.get_ydata(), [51.0, 53.0, 55.0, 57.0])


def test_an_output_folder_that_is_a_file_is_one_line(results: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    group = click.Group("nasbench")
    add_report_commands(group)
    for output in (blocker, blocker / "x"):
        result = CliRunner().invoke(group, ["plot", str(results), "--format", "png", "--output-dir", str(output)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "a file stands where a folder should be" in result.output


def test_a_column_without_numbers_is_skipped_with_a_note(results: Path, tmp_path: Path) -> None:
    report = plot_results(results, tmp_path / "out", ["png"], columns=["arch"])
    assert "nb201-cifar10: 'arch' holds no numbers; its plot skipped" in report.notes
    assert not any(path.name.startswith("arch") for path in report.files)


def test_a_trajectory_with_a_header_and_no_epoch_is_nothing_to_plot(results: Path, tmp_path: Path) -> None:
    (trajectory,) = results.rglob("balenas/*/*/seed-0/trajectory.csv")
    trajectory.write_text(trajectory.read_text().splitlines()[0] + "\n")
    report = plot_results(results, tmp_path / "out", ["png"])
    _assert_images(report.files)
    trajectories = load_trajectories(results)
    assert set(trajectories.loc[trajectories["label"] == "balenas", "seed"]) == {1, 2, 9}


def test_a_label_merging_two_configurations_gets_a_note(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for seed, config_hash in ((0, "cfg-a"), (1, "cfg-b")):
        write_run(root, "darts", seed, {"cifar10/test_acc": 54.0}, trajectory=_trajectory(seed, slope=1.0),
                  config_hash=config_hash)
    report = plot_results(root, tmp_path / "plots", formats=["png"])
    assert ("row 'darts' (nb201-cifar10) merges 2 configurations (cfg-a, cfg-b); give them distinct labels (--label), "
            "or tabulate their folders apart") in report.notes


def test_two_methods_with_the_same_trajectory_get_a_note_that_one_line_covers_the_other(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for seed in range(2):
        write_run(root, "darts", seed, {"cifar10/test_acc": 54.0}, trajectory=_trajectory(seed, slope=1.0))
        write_run(root, "darts-pt", seed, {"cifar10/test_acc": 60.0}, trajectory=_trajectory(seed, slope=1.0))
        write_run(root, "balenas", seed, {"cifar10/test_acc": 90.0}, trajectory=_trajectory(seed, slope=2.0))
    report = plot_results(root, tmp_path / "plots", formats=["png"])
    assert report.notes == ["nb201-cifar10: darts and darts-pt have the same cifar10/test_acc in every epoch (one starts "
                            "from the other's kept supernet), so one line covers the other"]

"""The reporting commands: ``nasbench table``, ``regress``, ``plot`` and ``suite``."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness.api.errors import UserError
from harness.cli.interrupts import resumable
from harness.experiment.config import merge, parse_assignment
from harness.experiment.seeds import parse_seeds
from harness.report.formats import FORMATS

# The commands import what they use when they run: `nasbench --help` must not import
# scipy, matplotlib or torch.


def _workers(context: click.Context, parameter: click.Parameter, value: str) -> str:
    from harness.experiment.seed_workers import check_workers

    try:
        return check_workers(value)
    except UserError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[1]) from None


def execution_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how the seeds of ``run`` and ``suite`` are carried out: the options both commands share."""
    for option in reversed([
        click.option("--reuse-supernets/--no-reuse-supernets", default=True, show_default=True,
                     help="Start a seed from the supernet another method trained with the same settings under the "
                          "same results folder (e.g. darts-pt from darts'), instead of training it again."),
        click.option("--stack-seeds", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
                     help="Train the seeds as one stack: one vmapped model (one convolution call for all seeds). "
                          "auto = on CUDA devices, except with search.cuda_graphs but not search.cudnn_benchmark; "
                          "on CPUs, and there, it measured little gain or a loss (README, Speed)."),
        click.option("--workers", default="auto", show_default=True, callback=_workers,
                     help="Processes that run the seeds at once, a suite's methods' seeds too (local executor): "
                          "auto = on CPUs, as many as the cores hold at --threads each, unless seeds are stacked; "
                          "1 = one after another in this process."),
        click.option("--logger", "loggers", multiple=True, metavar="NAME",
                     help="Experiment logger: tensorboard, mlflow, wandb (repeatable; see `nasbench list logger`)."),
        click.option("--executor", default="local", show_default=True,
                     help="Where seeds run: local, local-gpus (one worker per GPU; devices=[cpu,cpu] for two CPU workers), "
                          "ray (see `nasbench list executor`)."),
        click.option("--executor-option", "executor_options", multiple=True, metavar="KEY=VALUE",
                     help="An executor option, e.g. --executor-option max_retries=5 (repeatable)."),
    ]):
        command = option(command)
    return command


def parse_executor_options(assignments: tuple[str, ...]) -> dict[str, Any]:
    """``--executor-option`` ``KEY=VALUE`` pairs (values parsed like ``--set``'s) for the executor."""
    options: dict[str, Any] = {}
    for assignment in assignments:
        options = merge(options, parse_assignment(assignment, "--executor-option", "max_retries=5"))
    return options


def _names(text: str | None) -> list[str] | None:
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    return names or None


def _emit(text: str, output: Path | None) -> None:
    from harness.store.run_folder import atomic_write_bytes, check_outside_run_folders

    if output is None:
        click.echo(text, nl=False)
        return
    check_outside_run_folders(output)
    atomic_write_bytes(output, text.encode())
    click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True,
              help="baseline = per-seed CSV for `nasbench regress`.")
@click.option("--metrics", default=None, metavar="M1,M2",
              help="Metric columns, e.g. cifar10/test_acc,optimizer/sigma_mean [default: the headline metrics present].")
@click.option("--vs", default=None, metavar="LABEL", help="Reference row for Welch t and Mann–Whitney U p-values.")
@click.option("--optimal/--no-optimal", default=True, show_default=True,
              help="Add the benchmarks' best value per column (where a benchmark knows it and is configured).")
@click.option("--benchmark-file", type=click.Path(path_type=Path), default=None,
              help="Benchmark file for the optimal row (e.g. the NB201 table or .pth).")
@click.option("--extra-columns", is_flag=True, help="Add the optimizer summary columns (e.g. BaLeNAS σ statistics).")
@click.option("--reported", "reported_from", type=click.Path(path_type=Path), default=None, metavar="SUITE.toml",
              help="Show the paper rows this suite file declares ([[reported]]) beside the measured ones.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout.")
def table(results: Path, fmt: str, metrics: str | None, vs: str | None, optimal: bool, benchmark_file: Path | None,
          extra_columns: bool, reported_from: Path | None, output: Path | None) -> None:
    """Tabulate the runs under RESULTS: rows = labels, cells = mean±std over seeds."""
    from harness.report.environment import results_environment, write_environment
    from harness.report.settings import check_one_setting_each, results_settings, settings_key, write_settings
    from harness.report.tables import KEYS, add_optimal_row, baseline_frame, build_table, failure_notes, render, split_records
    from harness.store.records import load_records

    reported = []
    if reported_from:  # importing the suite machinery costs a second (torch): only when asked
        from harness.experiment.suite import load_suite

        reported = load_suite(reported_from).reported
    skipped: list[str] = []
    records = load_records(results, include_failed=True, notes=skipped)
    if fmt == "baseline":
        for note in skipped:
            click.echo(f"note: {note}", err=True)
        frame = baseline_frame(records, _names(metrics))
        keys = {settings_key(*row) for row in frame[KEYS].itertuples(index=False, name=None)}
        unreadable: list[str] = []
        settings = {key: value for key, value in results_settings(results, unreadable).items() if key in keys}
        check_one_setting_each(settings, results)
        _emit(frame.to_csv(index=False), output)
        notes = (failure_notes(split_records(records)[1]) if not records.empty else []) + unreadable
        if output is not None:
            click.echo(f"wrote {write_environment(output, results_environment(results))} and "
                       f"{write_settings(output, settings)}", err=True)
        else:
            notes.append("the environment and settings are recorded only with --output "
                         "(FILE.environment.json, FILE.settings.json)")
    else:
        try:
            built = build_table(records, _names(metrics), vs, extra_columns=extra_columns, reported=reported)
        except UserError:
            for note in skipped:
                click.echo(f"note: {note}", err=True)
            raise
        built.notes = skipped + built.notes  # in the file too: a seed left out changes n and every statistic
        if optimal:
            add_optimal_row(built, records, benchmark_file)
        _emit(render(built, fmt), output)
        notes = built.notes if fmt == "csv" else []
    for note in notes:
        click.echo(f"note: {note}", err=True)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--baseline", required=True, type=click.Path(path_type=Path),
              help="CSV from `nasbench table --format baseline` (e.g. results/baselines/ci-regression.csv).")
@click.option("--tolerance", type=float, default=1.0, show_default=True,
              help="Allowed drop of a mean, in metric units (accuracy points).")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level of the one-sided Welch test.")
@click.option("--require-pinned", is_flag=True,
              help="Fail unless RESULTS were made in the baseline's recorded environment (then every per-seed value "
                   "must match exactly).")
def regress(results: Path, baseline: Path, tolerance: float, alpha: float, require_pinned: bool) -> None:
    """Exit 1 when a metric under RESULTS fell below the baseline beyond tolerance, with statistical support,
    or, in the baseline's environment, when any per-seed value changed at all."""
    if not tolerance >= 0 or not 0 < alpha < 1:  # written so that NaN fails too
        raise UserError(f"--tolerance must be ≥ 0 and --alpha in (0, 1); got {tolerance} and {alpha}")
    from harness.report.environment import read_environment, results_environment
    from harness.report.regress import compare, exactness, read_baseline, report
    from harness.report.settings import read_settings, results_settings, settings_changes, settings_path, unchecked_settings
    from harness.report.tables import KEYS
    from harness.store.records import load_records

    expected = read_baseline(baseline)
    skipped: list[str] = []
    records = load_records(results, include_failed=True, notes=skipped)
    for note in skipped:
        click.echo(f"note: {note}", err=True)
    if records.empty:
        raise UserError(f"no run records under {results} to compare with the baseline; pass the results folder "
                        "of the runs under test (e.g. the --results of `nasbench suite`)")
    wanted = set(expected[KEYS].itertuples(index=False, name=None))
    if not wanted & set(records[KEYS].itertuples(index=False, name=None)):  # a wrong folder, not a regression
        found = sorted({f"{label} ({space}-{dataset})" for label, _, space, dataset in records[KEYS].itertuples(index=False)})
        raise UserError(f"none of the baseline's runs are under {results} (it holds {', '.join(found[:5])}"
                        f"{', ...' if len(found) > 5 else ''}); pass the results folder of the runs under test")
    exact, note = exactness(baseline, read_environment(baseline), results_environment(results), require_pinned)
    recorded = read_settings(baseline)
    unreadable: list[str] = []
    current = results_settings(results, unreadable)
    changes = settings_changes(recorded, current) if recorded is not None else {}
    comparison = compare(expected, records, tolerance, alpha, exact=exact, other_settings=changes)
    comparison.notes[:0] = [note, *unchecked_settings(expected, recorded, settings_path(baseline)), *unreadable]
    click.echo(report(comparison, tolerance, alpha), nl=False)
    if comparison.failed:
        raise SystemExit(1)


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--output-dir", type=click.Path(path_type=Path), default=None, help="[default: RESULTS/plots]")
@click.option("--format", "formats", default="png,pdf", show_default=True, help="Comma-separated: png, pdf, svg.")
@click.option("--metric", default=None, help="Accuracy column [default: cifar10/test_acc, else the first */test_acc].")
@click.option("--column", "columns", multiple=True, metavar="NAME",
              help="Also plot this trajectory column, e.g. opt/max_prob_mean (repeatable).")
@click.option("--error", is_flag=True, help="Plot 100 − the accuracy on a log axis (BaLeNAS Figure 1: validation and "
                                            "test error per epoch; --metric cifar10-nb101/valid_acc for the former).")
def plot(results: Path, output_dir: Path | None, formats: str, metric: str | None, columns: tuple[str, ...],
         error: bool) -> None:
    """Plot test accuracy, skip connections, BaLeNAS' σ and (if tracked) the Hessian eigenvalue per epoch."""
    from harness.report.plots import plot_results  # matplotlib costs a second and a half at every start

    written = plot_results(results, output_dir or results / "plots", _names(formats), metric, list(columns),
                           error)
    for note in written.notes:
        click.echo(f"note: {note}", err=True)
    for path in written.files:
        click.echo(f"wrote {path}")


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--metric", default=None, help="Accuracy column [default: cifar10/test_acc, else the first */test_acc].")
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write to FILE instead of stdout.")
def epochs(results: Path, metric: str | None, fmt: str, output: Path | None) -> None:
    """Per seed: the best epoch's architecture, the final epoch's and the chosen one (the collapse check)."""
    from harness.report.epochs import epoch_table, render_epochs

    notes: list[str] = []
    try:
        frame, column = epoch_table(results, metric, notes)
    finally:  # a damaged file may be why nothing is left to tabulate; the trajectories and records both note it
        for note in dict.fromkeys(notes):
            click.echo(f"note: {note}", err=True)
    _emit(frame.to_csv(index=False) if fmt == "csv" else render_epochs(frame, column), output)


@click.command()
@click.argument("suite_file", type=click.Path(path_type=Path))
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="Where the runs and table.md/table.csv go [default: results/suites/<suite name>].")
@click.option("--dry-run", is_flag=True, help="Print the planned runs and stop.")
@click.option("--seeds", default=None, help="Override the suite's seeds: 0-3, 0,2,5, or both.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override any config leaf for every run.")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N [default: the suite's device, else auto].")
@execution_options
def suite(suite_file: Path, results_dir: Path | None, dry_run: bool, reuse_supernets: bool, stack_seeds: str,
          workers: str, seeds: str | None, assignments: tuple[str, ...], device: str | None, loggers: tuple[str, ...], executor: str,
          executor_options: tuple[str, ...]) -> None:
    """Run every method × dataset of a suite file over its seeds, then write its table."""
    from harness.engine.devices import check_device_spelling
    from harness.experiment.suite import describe, expand, flatten, load_suite, run_suite, unrunnable, validate

    options = parse_executor_options(executor_options)
    loaded = load_suite(suite_file)
    overrides = {key: value for assignment in assignments for key, value in flatten(parse_assignment(assignment)).items()}
    plan = expand(loaded, parse_seeds(seeds) if seeds else None, overrides)
    configs = validate(loaded, plan)
    where = check_device_spelling(device or loaded.device)  # a typo is bad input even in a dry run
    problems = unrunnable(plan, configs, where)
    if problems and not dry_run:
        raise UserError(problems[0])
    click.echo(describe(loaded, plan))
    if dry_run:
        for problem in problems:
            click.echo(f"note: {problem}; the suite cannot run here as it is", err=True)
        return
    root = results_dir or Path("results") / "suites" / loaded.name
    with resumable():
        summary = run_suite(loaded, plan, root, where, executor, options, loggers, reuse_supernets, stack_seeds, workers)
    click.echo(summary, nl=False)
    click.echo(f"wrote {root / 'table.md'} and {root / 'table.csv'}", err=True)


def add_report_commands(cli: click.Group) -> None:
    """Attach the reporting commands to the ``nasbench`` group (called by harness/cli.py)."""
    for command in (table, epochs, regress, plot, suite):
        cli.add_command(command)

"""The ``nasbench`` command line. Plugins add commands through ``nasbench_register_commands``."""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness.api.errors import UserError
from harness.api.options import describe_options
from harness.cli.interrupts import resumable
from harness.cli.report import add_report_commands, execution_options, parse_executor_options
from harness.experiment.config import merge, parse_assignment
from harness.experiment.schema import DatasetSection
from harness.experiment.seeds import parse_seeds
from harness.plugin.failures import describe_exception
from harness.plugin.manager import DISABLE_THIRD_PARTY, REGISTRATION_HOOKS, get_plugins


class OneLineErrors(click.Group):
    """Click's usage errors (bad flag values, unknown options) as one ``Error:`` line, like every
    other mistake, instead of usage text, a hint and the error over four lines."""

    @staticmethod
    def _one_line(exc: click.UsageError) -> UserError:
        where = exc.ctx.command_path if exc.ctx is not None else "nasbench"
        return UserError(f"{exc.format_message()} (see `{where} -h`)")

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise self._one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise self._one_line(exc) from None


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(None, "-V", "--version", package_name="nasbench", message="nasbench %(version)s")
def cli() -> None:
    """Benchmark differentiable NAS methods over seeds and tabulate benchmark look-ups."""


def reads_a_file(benchmark: str) -> bool:
    """Whether ``--benchmark-file`` goes to ``benchmark``: it has a ``file`` option (an unknown name is
    kept, for the config check to name it)."""
    registry = get_plugins()["benchmark"]
    if benchmark not in registry:
        return True
    options = registry.get(benchmark).listed_options
    return options is not None and "file" in options.model_fields


def note_spare_threads(threads: int) -> None:
    """More threads than cores only wait on each other: a run with 64 on 2 cores took 10× as long as with 1."""
    from harness.experiment.seed_workers import usable_cores

    cores = usable_cores()
    if threads > cores:
        click.echo(f"note: --threads {threads} is more than the {cores} cores this process may use; "
                   f"the extra threads make it slower, not faster (try --threads {cores} or fewer)", err=True)


def user_config_from_options(dataset_dir: str | None, space: str | None, selector: str | None,
                             benchmarks: tuple[str, ...], benchmark_file: str | None, epochs: int | None,
                             label: str | None, track_hessian: bool, amp: bool,
                             assignments: tuple[str, ...]) -> dict[str, Any]:
    """The partial config the command-line flags stand for (``--set`` applied last)."""
    config: dict[str, Any] = {}
    if dataset_dir:
        config = merge(config, {"dataset": {"data_dir": str(Path(dataset_dir).expanduser())}})
    if space:
        config = merge(config, {"space": {"name": space}})
    if selector:
        config = merge(config, {"selector": {"name": selector}})
    if benchmarks:
        config = merge(config, {"benchmarks": {"names": list(benchmarks)}})
    if benchmark_file:
        named = [b.rstrip("?") for b in benchmarks] or ["nb201"]
        names = [name for name in named if reads_a_file(name)]
        if not names:
            raise UserError(f"--benchmark-file: no benchmark of this run reads a file ({', '.join(named)}); pass it "
                            "with one that does, e.g. --benchmark nb201 (see `nasbench list benchmark --options`)")
        config = merge(config, {"benchmarks": {"options": {name: {"file": benchmark_file} for name in names}}})
    if epochs is not None:
        config = merge(config, {"search": {"epochs": epochs}})
    if label:
        config["label"] = label
    if track_hessian:
        config["track_hessian"] = True
    if amp:
        config = merge(config, {"search": {"amp": True}})
    for assignment in assignments:
        config = merge(config, parse_assignment(assignment))
    return config


@cli.command()
@click.option("--method", "-m", default="balenas", show_default=True, help="Method preset (see `nasbench list`).")
@click.option("--dataset", "-d", default=None, help="Dataset name [default: digits, the embedded default].")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder holding the dataset.")
@click.option("--space", default=None, help="Search space [default: nb201].")
@click.option("--selector", default=None, help="Override the method's selector (e.g. pt, proxy).")
@click.option("--benchmark", "benchmarks", multiple=True,
              help="Benchmark(s) to query (repeatable) [default: nb201; on small datasets retrain, and nb201 too].")
@click.option("--benchmark-file", type=click.Path(), default=None, help="Benchmark table or official .pth file.")
@click.option("--seeds", default="0", show_default=True, help="Seeds: 0-3, 0,2,5, or both.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--epochs", type=int, default=None,
              help="Search epochs (overrides the method's default; random and zero-cost search none).")
@click.option("--results", "results_root", type=click.Path(), default="results/runs", show_default=True,
              help="Where run folders go.")
@click.option("--label", default=None, help="Row name in tables [default: the method].")
@click.option("--track-hessian", is_flag=True, help="Record the dominant Hessian eigenvalue of L_val w.r.t. α per epoch.")
@click.option("--amp", is_flag=True, help="bfloat16 autocast (CUDA, or CPUs with bfloat16 support).")
@click.option("--retry-failed", is_flag=True, help="Run again the seeds whose record says failed.")
@click.option("--threads", type=int, default=None, help="CPU threads for torch [default: 1 on small datasets].")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any config leaf, e.g. --set optimizer.options.samples=3 (repeatable).")
@execution_options
def run(method: str, dataset: str | None, data_dir: str | None, space: str | None, selector: str | None,
        benchmarks: tuple[str, ...], benchmark_file: str | None, seeds: str, device: str, epochs: int | None,
        results_root: str, label: str | None, track_hessian: bool, amp: bool, retry_failed: bool,
        reuse_supernets: bool, stack_seeds: str, workers: str, threads: int | None, assignments: tuple[str, ...],
        loggers: tuple[str, ...], executor: str, executor_options: tuple[str, ...]) -> None:
    """Search with METHOD over seeds, look the found architectures up, print a table."""
    from harness.api.executors import Task
    from harness.experiment.execute import execute
    from harness.report.tables import add_optimal_row, build_table, render
    from harness.store.records import load_records

    user = user_config_from_options(data_dir, space, selector, benchmarks, benchmark_file, epochs, label,
                                    track_hessian, amp, assignments)
    if threads is not None:
        user["threads"] = threads
        note_spare_threads(threads)
    presets = get_plugins()["method"]
    if method in presets:
        searches = presets.create(method).defaults.get("search", {}).get("epochs") != 0
        if epochs and not searches:
            click.echo(f"note: {method} searches nothing, so --epochs {epochs} changes nothing", err=True)
        elif epochs == 0 and searches:
            click.echo(f"note: --epochs 0: {method} trains nothing, so its selector chooses from the untrained "
                       "supernet (an ablation; no trajectory is written)", err=True)
    task = Task(method, dataset, user, tuple(parse_seeds(seeds)), device, str(Path(results_root).resolve()),
                retry_failed, loggers=loggers, reuse_supernets=reuse_supernets, stack_seeds=stack_seeds,
                workers=workers)
    with resumable():
        folders = execute([task], executor, parse_executor_options(executor_options))
    experiment = folders[0].parent
    skipped: list[str] = []
    records = load_records(experiment, include_failed=True, notes=skipped)
    for note in skipped:
        click.echo(f"note: {note}", err=True)
    click.echo(f"\nResults: {experiment}")
    table = build_table(records, extra_columns=True)
    add_optimal_row(table, records)  # as `nasbench table` shows it
    click.echo(render(table, "markdown"))


@cli.command(name="bench")
@click.option("--method", "-m", default="darts", show_default=True, help="Method preset (see `nasbench list`).")
@click.option("--space", default=None, help="Search space [default: nb201].")
@click.option("-C", "--channels", type=int, default=None, help="Space option C (NB201: 16).")
@click.option("-N", "--cells", type=int, default=None, help="Space option N, cells per stage (NB201: 5).")
@click.option("--resolution", type=int, default=32, show_default=True, help="Image side in pixels (CIFAR: 32).")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--steps", type=int, default=5, show_default=True, help="Search steps per timed round.")
@click.option("--repeats", type=int, default=3, show_default=True, help="Timed rounds (the median is reported).")
@click.option("--eval-images", type=int, default=512, show_default=True,
              help="Images in the validation half the evaluation pass is timed on.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch [default: torch's].")
@click.option("--amp", is_flag=True, help="bfloat16 autocast (CUDA, or CPUs with bfloat16 support).")
@click.option("--stacked-seeds", type=int, default=1, show_default=True,
              help="Also time one search step of this many seeds trained as one stacked model.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any config leaf, e.g. --set space.options.cell=per_op (repeatable).")
def bench_command(method: str, space: str | None, channels: int | None, cells: int | None, resolution: int,
                  batch_size: int, steps: int, repeats: int, eval_images: int, device: str, threads: int | None,
                  amp: bool, stacked_seeds: int, as_json: bool, assignments: tuple[str, ...]) -> None:
    """Images/s of METHOD's search step and loop here, and its projected CIFAR-10 search cost."""
    import json

    import torch

    from harness.engine.allocator import allocator_hint
    from harness.engine.devices import resolve_device
    from harness.experiment.bench import bench, format_report

    user = user_config_from_options(None, space, None, (), None, None, None, False, amp, assignments)
    options = {key: value for key, value in (("C", channels), ("N", cells)) if value is not None}
    user = merge({"space": {"options": options}, "search": {"batch_size": batch_size}}, user)
    torch_device = resolve_device(device)
    if threads is not None:
        note_spare_threads(threads)
        torch.set_num_threads(threads)
    report = bench(get_plugins(), method, user, resolution, torch_device, steps, repeats, eval_images,
                   stacked_seeds=stacked_seeds)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))
    if torch_device.type == "cpu" and not as_json and (hint := allocator_hint()) is not None:
        click.echo(hint, err=True)


def plural(kind: str) -> str:
    return f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"


KINDS = {spelling.replace(" ", "-"): kind for kind in REGISTRATION_HOOKS
         for spelling in {kind, plural(kind), kind.split()[-1], plural(kind.split()[-1])}}
"""What ``nasbench list`` takes: each kind of component, singular or plural (``proxy``, ``proxies``),
also by its last word (``space`` for search spaces, as in ``--space``)."""


@cli.command(name="list")
@click.argument("kind", required=False, metavar="[KIND]", type=click.Choice(sorted(KINDS)))
@click.option("--options/--no-options", "show_options", default=None,
              help="Show each component's options (default: when a KIND is given).")
def list_components(kind: str | None, show_options: bool | None) -> None:
    """List methods, search spaces, optimizers, selectors, benchmarks, datasets, proxies, loggers and executors."""
    plugins = get_plugins()
    kinds = [KINDS[kind]] if kind else list(REGISTRATION_HOOKS)
    detailed = bool(kind) if show_options is None else show_options
    section = {"search space": "space", "optimizer": "optimizer", "selector": "selector"}
    for name in kinds:
        click.echo(click.style(plural(name), bold=True))
        for entry in plugins[name].entries():
            click.echo(f"  {entry.name:<20} {entry.description}  [{entry.plugin}]")
            if detailed and entry.listed_options is not None:
                prefix = (f"{section[name]}.options." if name in section
                          else f"benchmarks.options.{entry.name}." if name == "benchmark" else "")
                for option, default, description in describe_options(entry.listed_options):
                    click.echo(f"      {prefix}{option} = {default}  {description}")
        if detailed and name == "dataset":
            click.echo("  every dataset:")
            for option, default, description in describe_options(DatasetSection):
                if option != "name":
                    click.echo(f"      dataset.{option} = {default}  {description}")


@cli.command()
def plugins() -> None:
    """Show every loaded plugin, where it came from and which hooks it implements."""
    loaded = get_plugins()
    for source in loaded.sources:
        plugin = loaded.manager.get_plugin(source.name)
        hooks = sorted(h.name for h in loaded.manager.get_hookcallers(plugin) or [])
        kind = "built-in" if source.builtin else "third-party"
        click.echo(f"{source.name} ({kind}) — {source.distribution} {source.version}: {source.module}")
        click.echo(f"    {source.path}")
        click.echo(f"    hooks: {', '.join(hooks)}")


COUNT_MEASURES = ("params",)
"""Metrics that count something (NB101's trainable parameters): printed as integers, the rest with 4 decimals."""


@cli.command()
@click.argument("arch")
@click.option("--space", default="nb201", show_default=True)
@click.option("--benchmark", default="nb201", show_default=True)
@click.option("--benchmark-file", type=click.Path(), default=None, help="Benchmark table or official .pth file.")
@click.option("--trust", is_flag=True, help="Allow unpickling an official .pth benchmark file you trust.")
def query(arch: str, space: str, benchmark: str, benchmark_file: str | None, trust: bool) -> None:
    """Print the benchmark row of one architecture (string, or index in the benchmark's order)."""
    from harness.api.benchmarks import BenchmarkContext

    plugins = get_plugins()
    search_space = plugins["search space"].create(space)
    options: dict[str, Any] = {"file": benchmark_file} if benchmark_file else {}
    if trust:
        options["trust"] = True
    bench = plugins["benchmark"].create(benchmark, options, BenchmarkContext(search_space))
    chosen = bench.arch_at(search_space, int(arch)) if arch.strip().isdecimal() else search_space.parse(arch)
    metrics = bench.query(search_space, chosen)
    click.echo(f"arch   {search_space.format(chosen)}")
    for key, value in search_space.describe(chosen).items():
        click.echo(f"{key}  {value}")
    index = bench.index_of(search_space, chosen)
    if index is not None:
        click.echo(f"index  {index}")
    if not metrics:
        raise UserError(f"the {benchmark} table has no metrics for this architecture (a partial table holds only "
                        "some cells); pass the full benchmark file with --benchmark-file")
    width = max(len(k) for k in metrics)
    for key in sorted(metrics):
        counted = key.rsplit("/", 1)[-1].partition("@")[0] in COUNT_MEASURES
        click.echo(f"{key:<{width}}  {int(metrics[key]) if counted else f'{metrics[key]:.4f}'}")


add_report_commands(cli)
_plugin_commands_added = False


def build_cli() -> click.Group:
    """The CLI with the plugins' commands added (once)."""
    global _plugin_commands_added
    if not _plugin_commands_added:
        manager = get_plugins().manager
        for impl in reversed(manager.hook.nasbench_register_commands.get_hookimpls()):  # pluggy's calling order
            add_plugin_commands(impl.plugin_name, impl.function)
        _plugin_commands_added = True
    return cli


def add_plugin_commands(plugin: str, register: Callable[..., object]) -> None:
    """One plugin's ``nasbench_register_commands``: a command it would put in place of another is refused,
    as a clash of component names is, and an exception in it is one line naming the plugin."""
    before = dict(cli.commands)
    try:
        register(cli=cli)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"plugin '{plugin}' failed in nasbench_register_commands: {describe_exception(exc)}; fix it, "
                        f"or set {DISABLE_THIRD_PARTY}=1") from None
    replaced = sorted(name for name, command in before.items() if cli.commands.get(name) is not command)
    if replaced:
        raise UserError(f"plugin '{plugin}' adds command(s) {', '.join(replaced)}, which `nasbench` already has: one "
                        f"would silently replace the other; rename them, or set {DISABLE_THIRD_PARTY}=1")


def main() -> None:
    from harness.api.executors import exit_on_signal

    # SIGTERM (`kill`, a scheduler's time limit) ends nasbench like Ctrl-C: workers stopped, locks released
    signal.signal(signal.SIGTERM, exit_on_signal)
    try:
        command = build_cli()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    command(prog_name="nasbench")


if __name__ == "__main__":
    main()

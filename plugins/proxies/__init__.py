"""Training-free proxies (Eq. 8: SynFlow, SNIP, GraSP) and the ``nasbench proxies`` commands."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness import BenchmarkContext, SearchSpace, UserError, hookimpl, parse_options

MAX_SEED = 2**32 - 1
"""The largest seed, as for ``nasbench run --seeds`` (numpy's seeds are 32-bit)."""


@hookimpl
def nasbench_register_proxies(register):
    register("synflow", "plugins.proxies.synflow:SynFlow",
             "Σ θ⊙∂R/∂θ of the |θ| network on an all-ones input; data-free (Tanaka et al. 2020)")
    register("snip", "plugins.proxies.snip:Snip", "Σ |θ⊙∂L/∂θ| on one labelled batch (Lee et al. 2019)")
    register("grasp", "plugins.proxies.grasp:Grasp", "Σ −θ⊙(H ∂L/∂θ) on one labelled batch (Wang et al. 2020)")


@hookimpl
def nasbench_register_commands(cli):
    cli.add_command(proxies_group)


def _plugins() -> Any:
    """The process's registries (imported on use: this module is itself loaded while they are built)."""
    from harness import get_plugins
    return get_plugins()


@click.group("proxies")
def proxies_group() -> None:
    """Training-free proxies: list them, or measure how well they rank architectures."""


@proxies_group.command("list")
def list_command() -> None:
    """Show the registered proxies and the plugin each comes from."""
    for entry in _plugins()["proxy"].entries():
        click.echo(f"{entry.name:<10} {entry.description}  [{entry.plugin}]")


@proxies_group.command("correlate")
@click.option("--proxy", "proxy_names", default="synflow,snip,grasp", show_default=True,
              help="comma-separated proxy names")
@click.option("--space", "space_name", default="nb201", show_default=True)
@click.option("--benchmark", "benchmark_name", default="nb201", show_default=True)
@click.option("--benchmark-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the benchmark's file (NB201: official .pth or table CSV)")
@click.option("--metric", default="cifar10/test_acc", show_default=True, help="benchmark metric to rank by")
@click.option("--dataset", "dataset_name", default="cifar10", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="the dataset's folder (not needed when every proxy is data-free)")
@click.option("--samples", default=1000, show_default=True, help="number of distinct random architectures")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="images in the one scoring batch")
@click.option("--channels", type=int, default=None,
              help="stem channels C of the discrete network [default: the space's]")
@click.option("--cells", type=int, default=None, help="cells per stage N of the discrete network [default: the space's]")
@click.option("--device", "device_name", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file for the per-architecture scores")
def correlate_command(proxy_names: str, space_name: str, benchmark_name: str, benchmark_file: Path | None,
                      metric: str, dataset_name: str, data_dir: Path | None, samples: int, seed: int,
                      batch_size: int, channels: int | None, cells: int | None, device_name: str,
                      output: Path | None) -> None:
    """Spearman's ρ between each proxy's score at initialization and a benchmark metric."""
    from harness import resolve_device
    from plugins.proxies.correlate import correlate, prepare_output, scoring_batch, write_scores

    if output is not None:
        prepare_output(output)
    plugins = _plugins()
    device = resolve_device(device_name)
    proxies = {name: plugins["proxy"].create(name) for name in _names(proxy_names)}
    space = plugins["search space"].create(space_name)
    network_options = _network_options(space, channels, cells)
    dataset = plugins["dataset"].create(dataset_name)
    options = {"file": str(benchmark_file)} if benchmark_file else {}
    benchmark = plugins["benchmark"].create(benchmark_name, options, BenchmarkContext(space=space, dataset=dataset.info))
    if not benchmark.supports(space):
        raise UserError(f"benchmark {benchmark_name} does not cover the {space_name} space")
    batch = None
    if any(proxy.needs_labels or proxy.needs_inputs for proxy in proxies.values()):
        train, _ = dataset.load(data_dir)
        batch = scoring_batch(train, dataset.info, batch_size, seed, device)
    result = correlate(space, benchmark, proxies, metric, dataset.info, batch, samples, seed, network_options, device)
    data = f"one batch of {batch_size} {dataset_name} images" if batch is not None else "no data"
    shape = ", ".join(f"{key}={network_options[key]}" for key in ("C", "N") if key in network_options)
    click.echo(f"{len(result.scores)} architectures of {space_name}{f' ({shape})' if shape else ''}, {data}, "
               f"seed {seed}: {result.seconds:.1f} s ({result.seconds / len(result.scores):.2f} s per architecture)")
    for name, rho in result.spearman.items():
        click.echo(f"{name:10s} Spearman rho vs {metric} = {rho:+.4f}")
    if output is not None:
        write_scores(result, output)
        click.echo(f"per-architecture scores: {output}")


def _network_options(space: SearchSpace, channels: int | None, cells: int | None) -> dict[str, Any]:
    """The space's network options with ``--channels``/``--cells`` where given; a space without C or N
    (nb101) refuses them rather than having them passed to a network that has no such setting."""
    declared = type(space).Options.model_fields
    given = {}
    for key, flag, value in (("C", "--channels", channels), ("N", "--cells", cells)):
        if value is not None:
            if key not in declared:
                raise UserError(f"{flag} {value}: the {space.name} space has no option {key}; leave {flag} out")
            given[key] = value
    return parse_options(type(space).Options, given, f"search space {space.name}", "--channels/--cells").model_dump()


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UserError("--proxy: give at least one proxy name, e.g. --proxy synflow,snip")
    return names

"""One seed's run, from its live objects to its record: resumable, failures recorded.

Re-running the same command skips finished runs and resumes an interrupted one from its
last epoch checkpoint, because the folder name is a hash of the resolved config
(``seed_runs`` takes a command's seeds through here).
"""
from __future__ import annotations

import math
import platform
import random
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from tqdm.auto import tqdm

from harness.api.benchmarks import Benchmark, BenchmarkContext, BenchmarkUnavailable
from harness.api.datasets import Dataset, ImageSet
from harness.api.errors import UserError
from harness.api.loggers import run_name
from harness.api.optimizers import ArchOptimizer
from harness.api.run import RunContext
from harness.api.selectors import SelectionContext
from harness.api.spaces import Architecture, SearchSpace
from harness.api.step import SearchStep
from harness.engine.allocator import loaded_allocator
from harness.engine.data import SearchData
from harness.engine.devices import peak_memory_mb
from harness.engine.hessian import dominant_hessian_eigenvalue
from harness.engine.trainer import DivergedError, Trainer
from harness.experiment.config import config_hash, search_key
from harness.experiment.seeds import seed_everything
from harness.experiment.selection_progress import SelectionProgress
from harness.plugin.failures import describe_exception
from harness.plugin.manager import Plugins
from harness.store import run_folder as results
from harness.store.supernets import SupernetClaim, check_kept_supernet, keep_supernet, supernet_path

SKIP_OP = "skip_connect"


@dataclass
class Run:
    """The live objects of one run."""

    context: RunContext
    optimizer: ArchOptimizer
    trainer: Trainer
    benchmarks: list[Benchmark]
    trajectory: list[dict[str, Any]]
    supernet_from: str | None = None
    """The run (``run_name``, inside the same results folder) whose trained supernet this run started from."""
    start_epoch: int = 0
    """The first epoch still to search (after a resumed checkpoint)."""
    rng_state: dict[str, Any] | None = None
    """The global random generators' state this run left off with (seeds of a stack take turns)."""
    stacked_with: int = 1
    """How many seeds trained as one stacked model with this one (1: alone)."""
    environments: list[dict[str, str]] = field(default_factory=list)
    """Where the epochs restored from a checkpoint were computed (``computing_environment``), each once."""


def run_one(plugins: Plugins, config: dict[str, Any], source: Dataset, loaded: tuple[ImageSet, ImageSet],
            device: torch.device, folder: Path, supernets: Path | None = None) -> dict[str, Any]:
    """One seed, start to record (or resumed from its checkpoint, or from a supernet kept under ``supernets``,
    waiting for it while another process trains it)."""
    claim = SupernetClaim(supernets, search_key(config), config["seed"]) if supernets is not None else None
    try:
        if claim is not None:
            claim.take(f"{config['label']} seed {config['seed']}")
        prepared = prepare_run(plugins, config, source, loaded, device, folder, supernets)
        if isinstance(prepared, dict):
            return prepared
        return complete_run(prepared, folder, supernets, searched=claim.release if claim is not None else None)
    finally:
        if claim is not None:
            claim.release()


def prepare_run(plugins: Plugins, config: dict[str, Any], source: Dataset, loaded: tuple[ImageSet, ImageSet],
                device: torch.device, folder: Path, supernets: Path | None) -> Run | dict[str, Any]:
    """The seed's live run, restored from its checkpoint (``run.start_epoch``), or the failure record of a
    run that could not be built."""
    seed = config["seed"]
    results.write_json(folder / results.CONFIG, config)
    seed_everything(seed)
    try:
        run = build_run(plugins, config, source, loaded, device, folder)
    except UserError:
        raise
    except Exception as exc:  # a plugin failing to build (e.g. ArchOptimizer.attach): no run to end, a record all the same
        record = {**identity(config), "status": "failed", "failure": describe_exception(exc), "arch": None,
                  "metrics": {}, "epochs": 0}
        results.write_json(folder / results.RECORD, record)
        results.remove_checkpoints(folder)
        print(f"{config['label']} seed {seed}: failed: {record['failure']}", file=sys.stderr)
        return record
    if supernets is not None:
        adopt_supernet(config, folder, supernets)
    run.start_epoch = resume(run, folder)
    run.context.resumed = run.start_epoch
    run.rng_state = capture_rng()
    return run


def complete_run(run: Run, folder: Path, supernets: Path | None, failure: str | None = None,
                 started: bool = False, searched: Callable[[], None] | None = None) -> dict[str, Any]:
    """Search on from ``run.start_epoch``, keep the supernet (under ``supernets``), select, and write the
    record (``failure``: the search already failed, as a seed of a stack can; ``started``:
    ``nasbench_run_start`` was already called; ``searched``: called once the supernet is kept)."""
    config, plugins = run.context.config, run.context.plugins
    restore_rng(run.rng_state)
    try:
        if not started:
            plugins.hook.nasbench_run_start(run=run.context)
        if failure is not None:
            raise DivergedError(failure)
        search(run, run.start_epoch)
        if supernets is not None:  # before selection: a seed waiting for this supernet need not wait for that too
            keep_supernet(folder / results.CHECKPOINT, supernets, search_key(config), config["seed"])
        if searched is not None:
            searched()
        record = finish(run)
    except DivergedError as exc:
        record = failure_record(run, str(exc))
    except UserError:
        raise
    except Exception as exc:  # a plugin's (or our) bug: record it, and leave no checkpoint to resume into it
        record = failure_record(run, describe_exception(exc))
    results.write_json(folder / results.RECORD, record)
    results.remove_checkpoints(folder)
    announce_run_end(run, record)
    status = f"failed: {record['failure']}" if record["status"] == "failed" else f"{record['arch']}"
    print(f"{config['label']} seed {config['seed']}: {status}", file=sys.stderr)
    return record


def announce_run_end(run: Run, record: dict[str, Any]) -> None:
    """``nasbench_run_end``; the record is already written, so a plugin raising there (a logger that
    cannot reach its server) costs one line, not the record or the seeds after it."""
    try:
        run.context.plugins.hook.nasbench_run_end(run=run.context, record=record)
    except UserError:
        raise
    except Exception as exc:
        print(f"{run.context.config['label']} seed {run.context.seed}: warning: a plugin's nasbench_run_end failed "
              f"({describe_exception(exc)}); the record is kept as {record['status']}", file=sys.stderr)


def build_run(plugins: Plugins, config: dict[str, Any], source: Dataset, loaded: tuple[ImageSet, ImageSet],
              device: torch.device, folder: Path) -> Run:
    seed = config["seed"]
    train, test = loaded
    data = SearchData.split(source.info, train, test, seed, device)
    space = plugins["search space"].create(config["space"]["name"])
    supernet = space.build_supernet(source.info, config["space"]["options"]).to(device)
    method = plugins["method"].create(config["method"])
    context = RunContext(config, method, space, source.info, data, device, seed, folder, plugins)
    optimizer = plugins["optimizer"].create(config["optimizer"]["name"], config["optimizer"]["options"])
    optimizer.attach(space, supernet, context)
    trainer = Trainer(context, supernet, optimizer)
    return Run(context, optimizer, trainer, build_benchmarks(plugins, context), [])


def build_benchmarks(plugins: Plugins, run: RunContext) -> list[Benchmark]:
    """The configured benchmarks that support this space; ``name?`` ones only when available."""
    context = BenchmarkContext(run.space, run.dataset, run.data, run.device, run.seed, run.config["space"]["options"],
                               run.out_dir)
    built = []
    for name in run.config["benchmarks"]["names"]:
        optional = name.endswith("?")
        name = name.rstrip("?")
        options = dict(run.config["benchmarks"]["options"].get(name, {}))
        try:
            benchmark = plugins["benchmark"].create(name, options, context)
        except BenchmarkUnavailable:
            if optional:
                continue
            raise
        if benchmark.supports(run.space):
            built.append(benchmark)
        elif not optional:
            raise UserError(f"benchmark {name} does not cover search space {run.space.name}; choose benchmarks "
                            "that do with --benchmark (see `nasbench list benchmark`)")
    return built


def adopt_supernet(config: dict[str, Any], folder: Path, supernets: Path) -> None:
    """Start this seed from the kept supernet of its search key, if one exists (over a partial checkpoint of its own)."""
    kept = supernet_path(supernets, search_key(config), config["seed"])
    if kept.exists():
        check_kept_supernet(kept)
        results.atomic_write_bytes(folder / results.CHECKPOINT, kept.read_bytes())


def component_versions(plugins: Plugins, config: dict[str, Any]) -> dict[str, str]:
    """The distribution and version of every plugin that provides a component of this run.

    A checkpoint written under other versions is not resumed: a fixed plugin must not
    continue the state its broken predecessor left.
    """
    names = {"method": config["method"], "search space": config["space"]["name"],
             "dataset": config["dataset"]["name"], "optimizer": config["optimizer"]["name"],
             "selector": config["selector"]["name"]}
    wanted = [*names.items(), *(("benchmark", n.rstrip("?")) for n in config["benchmarks"]["names"])]
    return {f"{kind} {name}": plugins.version_of(kind, name) for kind, name in wanted}


def search_versions(plugins: Plugins, config: dict[str, Any]) -> dict[str, str]:
    """The versions that decide the trained supernet: a checkpoint is resumed (or reused) only under these.

    The method is a preset whose changes show in the config, and selection state is not
    checkpointed, so neither is compared.
    """
    return {key: value for key, value in component_versions(plugins, config).items()
            if not key.startswith(("method ", "selector "))}


CHECKPOINT_KEYS = ("epoch", "trainer", "optimizer", "trajectory", "torch_rng", "numpy_rng", "versions")


def numpy_rng_state() -> dict[str, Any]:
    """numpy's global RNG state as plain data (its array is not loadable under weights_only)."""
    name, keys, position, has_gauss, cached = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    return {"name": name, "keys": keys.tolist(), "position": int(position), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached)}


def restore_numpy_rng(state: dict[str, Any]) -> None:
    np.random.set_state((state["name"], np.array(state["keys"], dtype=np.uint32), state["position"],
                         state["has_gauss"], state["cached_gaussian"]))


def resume(run: Run, folder: Path) -> int:
    """Restore the last epoch checkpoint, if any; returns the first epoch still to run."""
    path = folder / results.CHECKPOINT
    state = results.load_checkpoint(path)
    if state is None:
        return 0
    label = f"{run.context.config['label']} seed {run.context.seed}"
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise results.CorruptFile(f"{path} lacks {', '.join(missing)}; delete it to start this seed over")
    now = search_versions(run.context.plugins, run.context.config)  # type: ignore[arg-type]
    if any(state["versions"].get(key) != value for key, value in now.items()):
        changed = sorted(k for k in now if state["versions"].get(k) != now[k])
        print(f"{label}: the checkpoint was written by other plugin versions ({', '.join(changed)}); "
              "starting over", file=sys.stderr)
        results.remove_checkpoints(folder)
        return 0
    try:
        run.trainer.load_state_dict(state["trainer"])
        run.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        restore_numpy_rng(state["numpy_rng"])
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise results.CorruptFile(f"{path} does not fit this run ({type(exc).__name__}: {str(exc)[:120]}); "
                                  "delete it to start this seed over") from None
    run.trajectory.extend(state["trajectory"])
    run.environments = [dict(environment) for environment in state.get("environments", [])]
    results.write_csv(folder / results.TRAJECTORY, run.trajectory)
    origin = state.get("origin")
    if origin is not None and origin != run_name(run.context):
        run.supernet_from = origin
        epochs = int(state["epoch"])
        print(f"{label}: starting from the supernet trained in {origin} ({epochs} epoch{'' if epochs == 1 else 's'})",
              file=sys.stderr)
    else:
        print(f"{label}: resuming after epoch {state['epoch']}", file=sys.stderr)
    return int(state["epoch"])


def search(run: Run, start_epoch: int) -> None:
    config = run.context.config
    epochs = config["search"]["epochs"]
    steps = run.trainer.steps_per_epoch()
    with tqdm(total=(epochs - start_epoch) * steps, desc=f"{config['label']} seed {run.context.seed}",
              unit="step", leave=False, disable=None) as bar:
        for epoch in range(start_epoch, epochs):
            end_epoch(run, epoch + 1, run.trainer.train_epoch(progress=bar.update))


def end_epoch(run: Run, epoch: int, stats: dict[str, float]) -> None:
    """After training epoch ``epoch`` (from 1): the schedule, the trajectory row and the checkpoint."""
    config = run.context.config
    run.trainer.scheduler.step()
    row = epoch_row(run, epoch, stats)
    run.trajectory.append(row)
    run.environments = run_environments(run)
    results.write_csv(run.context.out_dir / results.TRAJECTORY, run.trajectory)
    results.save_checkpoint(run.context.out_dir / results.CHECKPOINT, {
        "epoch": epoch, "trainer": run.trainer.state_dict(), "optimizer": run.optimizer.state_dict(),
        "trajectory": run.trajectory, "torch_rng": torch.get_rng_state(), "numpy_rng": numpy_rng_state(),
        "versions": search_versions(run.context.plugins, config),  # type: ignore[arg-type]
        "origin": run_name(run.context), "environments": run.environments,
    })
    run.context.plugins.hook.nasbench_epoch_end(run=run.context, row=row)
    if not sys.stderr.isatty():  # a log file or a pipe shows no progress bar: a line per epoch instead
        print(f"{config['label']} seed {run.context.seed}: epoch {epoch}/{config['search']['epochs']} (train loss "
              f"{row['train_loss']:.3f}, supernet valid acc {row['valid_acc']:.2f} %, {row['seconds']:.1f} s searched)",
              file=sys.stderr)


def capture_rng() -> dict[str, Any]:
    """The global generators a run may draw from (torch, numpy, Python's ``random``)."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "random": random.getstate()}


def restore_rng(state: dict[str, Any] | None) -> None:
    if state is not None:
        torch.set_rng_state(state["torch"])
        np.random.set_state(state["numpy"])
        random.setstate(state["random"])


def epoch_row(run: Run, epoch: int, stats: dict[str, float]) -> dict[str, Any]:
    """The trajectory row: the current (argmax) architecture and what the cheap benchmarks say of it."""
    space = run.context.space
    arch = space.argmax(run.optimizer.logits())
    valid_acc, valid_loss = run.trainer.evaluate("valid", max_batches=run.context.search.get("eval_batches"))
    if valid_loss != valid_loss:
        raise DivergedError(f"validation loss became NaN at epoch {epoch}")
    row: dict[str, Any] = {
        "epoch": epoch, "arch": space.format(arch), **space.describe(arch), SKIP_OP: space.count_op(arch, SKIP_OP), **stats,
        "valid_acc": valid_acc, "valid_loss": valid_loss, "lr": run.trainer.current_lr(),
        "seconds": run.trainer.seconds, "images_per_second": run.trainer.images_per_second(),
    }
    row.update(query(run, arch, cheap_only=True))
    row.update({f"opt/{k}": v for k, v in run.optimizer.summary().items()})
    if run.context.config.get("track_hessian"):
        row["hessian_eigenvalue"] = hessian_eigenvalue(run)
    return row


def query(run: Run, arch: Architecture, cheap_only: bool) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for benchmark in run.benchmarks:
        if benchmark.cheap or not cheap_only:
            metrics.update(answer(benchmark, run.context.space, arch))
    return metrics


def answer(benchmark: Benchmark, space: SearchSpace, arch: Architecture) -> dict[str, float]:
    """``benchmark.query``, checked where it is asked: a value that is no number would otherwise be
    written into the record, and the seed left out of every table afterwards as damaged."""
    found = benchmark.query(space, arch)
    if not isinstance(found, dict):
        raise TypeError(f"benchmark {benchmark.name} answered a {type(found).__name__}, not a dict of metrics")
    for key, value in found.items():
        if (not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float))
                or math.isinf(value)):
            raise TypeError(f"benchmark {benchmark.name} answered {key!r} = {value!r}: metrics are finite numbers "
                            "keyed by name (NaN for not known)")
    return found


def hessian_eigenvalue(run: Run) -> float:
    """Dominant eigenvalue of ∇²_α L_val on one validation batch (DARTS' collapse indicator).

    α is the optimizer's logits mixed through a softmax, which is the DARTS and BaLeNAS
    (μ) parametrization.
    """
    batch = next(run.trainer.valid_stream)
    step = SearchStep(run.trainer, batch, batch)
    alpha = run.optimizer.logits().detach().clone()
    mask = run.context.space.logit_mask(alpha.device)
    if mask is not None:
        alpha = alpha + mask.nan_to_num(neginf=-1e4)  # ops an edge does not offer stay at weight ~0
    return dominant_hessian_eigenvalue(lambda a: step.loss(batch, torch.softmax(a, dim=-1), weight_grads=False), alpha)


def finish(run: Run) -> dict[str, Any]:
    """Selection, the final benchmark queries, and the record."""
    context = run.context
    selector = context.plugins["selector"].create(context.config["selector"]["name"],
                                                  context.config["selector"]["options"])
    rng = np.random.default_rng(context.seed)
    started = time.perf_counter()
    with closing(SelectionProgress(context.config["label"], context.seed)) as progress:
        selection = selector.select(SelectionContext(
            context, context.space, context.dataset, run.trainer.supernet, run.optimizer, context.data, run.trainer,
            lambda arch: query(run, arch, cheap_only=True), rng, progress))
    selection_seconds = time.perf_counter() - started
    if selection.trajectory:
        results.write_csv(context.out_dir / results.SELECTION, selection.trajectory)
    metrics, sources = search_metrics(run), {}
    sources.update({key: "search" for key in metrics})
    for benchmark in run.benchmarks:
        found = answer(benchmark, context.space, selection.arch)
        if not found:  # e.g. a partial table (NASLib's NB101 test pickle holds 30 cells)
            print(f"{context.config['label']} seed {context.seed}: benchmark {benchmark.name} has no entry for the "
                  f"chosen architecture, so the record has none of its metrics", file=sys.stderr)
        metrics.update(found)
        sources.update({key: benchmark.name for key in found})
    record = base_record(run)
    record.update({
        "status": "finished", "failure": None,
        "arch": context.space.format(selection.arch), "arch_index": arch_index(run, selection.arch),
        "arch_details": context.space.describe(selection.arch),
        SKIP_OP: context.space.count_op(selection.arch, SKIP_OP),
        "metrics": metrics, "metric_sources": sources,
        "selection_seconds": selection.details.get("selection_seconds", selection_seconds),
        "selection": selection.details,
    })
    return record


def search_metrics(run: Run) -> dict[str, float]:
    """The trained supernet's final validation accuracy: what a broken optimizer or loop hurts first."""
    if not run.trajectory:
        return {}
    return {f"{run.context.dataset.name}/supernet_valid_acc": run.trajectory[-1]["valid_acc"]}


def arch_index(run: Run, arch: Architecture) -> int | None:
    for benchmark in run.benchmarks:
        index = benchmark.index_of(run.context.space, arch)
        if index is not None:
            return index
    return None


def failure_record(run: Run, reason: str) -> dict[str, Any]:
    record = base_record(run)
    record.update({"status": "failed", "failure": reason, "arch": None, "metrics": {}})
    return record


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """What names a run in tables, plus the versions and time of its record."""
    return {
        "method": config["method"], "label": config["label"], "space": config["space"]["name"],
        "dataset": config["dataset"]["name"], "seed": config["seed"], "config_hash": config_hash(config),
        "versions": versions(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def base_record(run: Run) -> dict[str, Any]:
    """The record's common part; its versions, device and stacking cover every process that computed the
    run (an interrupted run resumed elsewhere, or stacked then alone, is not the same bits as either)."""
    context = run.context
    environments = run_environments(run)

    def merged(key: str) -> str:
        distinct = sorted({environment.get(key, "unknown") for environment in environments})
        return distinct[0] if len(distinct) == 1 else "mixed: " + ", ".join(distinct)

    return {
        **identity(context.config),
        "versions": {key: merged(key) for key in versions()},
        "epochs": len(run.trajectory), "search_seconds": run.trainer.seconds,
        "images_per_second": run.trainer.images_per_second(), "device": merged("device"),
        "peak_memory_mb": peak_memory_mb(context.device), "optimizer": run.optimizer.summary(),
        "supernet_from": run.supernet_from,
        "stacked_seeds": max(int(environment.get("stacked_seeds", 1)) for environment in environments),
    }


def computing_environment(run: Run) -> dict[str, str]:
    """What decides a run's bits besides its config: versions, threads, device and stacking."""
    return {**versions(), "device": device_name(run.context.device), "stacked_seeds": str(run.stacked_with)}


def run_environments(run: Run) -> list[dict[str, str]]:
    """The environments of the epochs so far and of this process, each once."""
    current = computing_environment(run)
    return run.environments if current in run.environments else [*run.environments, current]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()})"


def versions() -> dict[str, str]:
    try:
        own = version("nasbench")
    except PackageNotFoundError:
        own = "source"
    return {"nasbench": own, "torch": str(torch.__version__), "python": platform.python_version(),
            "numpy": np.__version__, "cuda": str(torch.version.cuda),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": str(torch.get_num_threads()),
            "allocator": loaded_allocator()}

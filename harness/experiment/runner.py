"""Running a method over seeds: one results folder per run, resumable, failures recorded.

Re-running the same command skips finished runs and resumes an interrupted one from its
last epoch checkpoint, because the folder name is a hash of the resolved config.
"""
from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from harness.api.benchmarks import Benchmark, BenchmarkContext, BenchmarkUnavailable
from harness.api.datasets import Dataset, ImageSet
from harness.api.errors import UserError
from harness.api.optimizers import ArchOptimizer
from harness.api.run import RunContext
from harness.api.selectors import SelectionContext
from harness.api.spaces import Architecture
from harness.api.step import SearchStep
from harness.engine.data import SearchData
from harness.engine.devices import peak_memory_mb, resolve_device
from harness.engine.hessian import dominant_hessian_eigenvalue
from harness.engine.trainer import DivergedError, Trainer
from harness.experiment.checks import resolve_config
from harness.experiment.config import config_hash
from harness.experiment.seeds import seed_everything
from harness.plugin.manager import Plugins, get_plugins
from harness.store import run_folder as results

SKIP_OP = "skip_connect"


def run_seeds(method: str, dataset: str | None, user_config: dict[str, Any], seeds: list[int],
              device: str = "auto", results_root: Path = Path("results/runs"),
              retry_failed: bool = False) -> list[Path]:
    """Run ``method`` once per seed; returns the run folders (finished ones are skipped)."""
    plugins = get_plugins()
    config = resolve_config(plugins, method, dataset, user_config)
    torch_device = resolve_device(device)
    if torch_device.type == "cpu" and config.get("threads"):
        torch.set_num_threads(int(config["threads"]))
    source = plugins["dataset"].create(config["dataset"]["name"])
    loaded: tuple[ImageSet, ImageSet] | None = None
    folders = []
    for seed in seeds:
        seeded = {**config, "seed": seed, "device": str(torch_device)}
        folder = results.run_dir(results_root, config["method"], config["space"]["name"],
                                 config["dataset"]["name"], config_hash(seeded), seed)
        folders.append(folder)
        previous = results.read_record(folder)
        if previous is not None and (previous.get("status") == "finished" or not retry_failed):
            print(f"{config['label']} seed {seed}: already {previous.get('status')} in {folder} (skipped)",
                  file=sys.stderr)
            continue
        if loaded is None:
            loaded = load_dataset(source, config["dataset"].get("data_dir"))
        run_one(plugins, seeded, source, loaded, torch_device, folder)
    return folders


def load_dataset(source: Dataset, data_dir: str | None) -> tuple[ImageSet, ImageSet]:
    if source.needs_data_dir and not data_dir:
        raise UserError(f"dataset {source.info.name} needs --data-dir. {source.download_hint}".strip())
    return source.load(Path(data_dir).expanduser() if data_dir else None)


@dataclass
class Run:
    """The live objects of one run."""

    context: RunContext
    optimizer: ArchOptimizer
    trainer: Trainer
    benchmarks: list[Benchmark]
    trajectory: list[dict[str, Any]]


def run_one(plugins: Plugins, config: dict[str, Any], source: Dataset, loaded: tuple[ImageSet, ImageSet],
            device: torch.device, folder: Path) -> dict[str, Any]:
    """One seed, start to record (or resumed from its checkpoint)."""
    seed = config["seed"]
    results.write_json(folder / results.CONFIG, config)
    seed_everything(seed)
    run = build_run(plugins, config, source, loaded, device, folder)
    start_epoch = resume(run, folder)
    run.context.resumed = start_epoch
    plugins.hook.nasbench_run_start(run=run.context)
    try:
        search(run, start_epoch)
        record = finish(run)
    except DivergedError as exc:
        record = failure_record(run, str(exc))
    results.write_json(folder / results.RECORD, record)
    (folder / results.CHECKPOINT).unlink(missing_ok=True)
    plugins.hook.nasbench_run_end(run=run.context, record=record)
    status = record["status"] if record["status"] == "failed" else f"{record['arch']}"
    print(f"{config['label']} seed {seed}: {status}", file=sys.stderr)
    return record


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
    context = BenchmarkContext(run.space, run.dataset, run.data, run.device, run.seed, run.config["space"]["options"])
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
            raise UserError(f"benchmark {name} does not cover search space {run.space.name}; "
                            "drop --benchmark or pick a space it covers")
    return built


def resume(run: Run, folder: Path) -> int:
    """Restore the last epoch checkpoint, if any; returns the first epoch still to run."""
    state = results.load_checkpoint(folder / results.CHECKPOINT)
    if state is None:
        return 0
    run.trainer.load_state_dict(state["trainer"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.trajectory.extend(state["trajectory"])
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    print(f"{run.context.config['label']} seed {run.context.seed}: resuming after epoch {state['epoch']}",
          file=sys.stderr)
    return int(state["epoch"])


def search(run: Run, start_epoch: int) -> None:
    config = run.context.config
    epochs = config["search"]["epochs"]
    steps = run.trainer.steps_per_epoch()
    with tqdm(total=(epochs - start_epoch) * steps, desc=f"{config['label']} seed {run.context.seed}",
              unit="step", leave=False, disable=None) as bar:
        for epoch in range(start_epoch, epochs):
            stats = run.trainer.train_epoch(progress=bar.update)
            run.trainer.scheduler.step()
            row = epoch_row(run, epoch + 1, stats)
            run.trajectory.append(row)
            results.write_csv(run.context.out_dir / results.TRAJECTORY, run.trajectory)
            results.save_checkpoint(run.context.out_dir / results.CHECKPOINT, {
                "epoch": epoch + 1, "trainer": run.trainer.state_dict(), "optimizer": run.optimizer.state_dict(),
                "trajectory": run.trajectory, "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
            })
            run.context.plugins.hook.nasbench_epoch_end(run=run.context, row=row)


def epoch_row(run: Run, epoch: int, stats: dict[str, float]) -> dict[str, Any]:
    """The trajectory row: the current (argmax) architecture and what the cheap benchmarks say of it."""
    space = run.context.space
    arch = space.argmax(run.optimizer.logits())
    valid_acc, valid_loss = run.trainer.evaluate("valid", max_batches=run.context.search.get("eval_batches"))
    if valid_loss != valid_loss:
        raise DivergedError(f"validation loss became NaN at epoch {epoch}")
    row: dict[str, Any] = {
        "epoch": epoch, "arch": space.format(arch), SKIP_OP: space.count_op(arch, SKIP_OP), **stats,
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
            metrics.update(benchmark.query(run.context.space, arch))
    return metrics


def hessian_eigenvalue(run: Run) -> float:
    """Dominant eigenvalue of ∇²_α L_val on one validation batch (DARTS' collapse indicator).

    α is the optimizer's logits mixed through a softmax, which is the DARTS and BaLeNAS
    (μ) parametrization.
    """
    batch = next(run.trainer.valid_stream)
    step = SearchStep(run.trainer, batch, batch)
    alpha = run.optimizer.logits().detach().clone()
    return dominant_hessian_eigenvalue(lambda a: step.loss(batch, torch.softmax(a, dim=-1)), alpha)


def finish(run: Run) -> dict[str, Any]:
    """Selection, the final benchmark queries, and the record."""
    context = run.context
    selector = context.plugins["selector"].create(context.config["selector"]["name"],
                                                  context.config["selector"]["options"])
    rng = np.random.default_rng(context.seed)
    selection_context = SelectionContext(
        context, context.space, context.dataset, run.trainer.supernet, run.optimizer, context.data, run.trainer,
        lambda arch: query(run, arch, cheap_only=True), rng)
    started = time.perf_counter()
    selection = selector.select(selection_context)
    selection_seconds = time.perf_counter() - started
    if selection.trajectory:
        results.write_csv(context.out_dir / results.SELECTION, selection.trajectory)
    metrics, sources = search_metrics(run), {}
    sources.update({key: "search" for key in metrics})
    for benchmark in run.benchmarks:
        found = benchmark.query(context.space, selection.arch)
        metrics.update(found)
        sources.update({key: benchmark.name for key in found})
    record = base_record(run)
    record.update({
        "status": "finished", "failure": None,
        "arch": context.space.format(selection.arch), "arch_index": arch_index(run, selection.arch),
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


def base_record(run: Run) -> dict[str, Any]:
    context = run.context
    config = context.config
    return {
        "method": config["method"], "label": config["label"], "space": config["space"]["name"],
        "dataset": config["dataset"]["name"], "seed": context.seed, "config_hash": config_hash(config),
        "epochs": len(run.trajectory), "search_seconds": run.trainer.seconds,
        "images_per_second": run.trainer.images_per_second(), "device": device_name(context.device),
        "peak_memory_mb": peak_memory_mb(context.device), "optimizer": run.optimizer.summary(),
        "versions": versions(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()})"


def versions() -> dict[str, str]:
    try:
        own = version("nasbench")
    except PackageNotFoundError:
        own = "source"
    return {"nasbench": own, "torch": torch.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "cuda": str(torch.version.cuda),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": str(torch.get_num_threads())}

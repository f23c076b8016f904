"""Running a method over seeds: one results folder per seed, each under its lock, stacked when it pays.

Re-running the same command skips finished seeds and resumes interrupted ones, because the
folder name is a hash of the resolved config. Seeds that start from the same epoch can
train as one stack (``harness.engine.stacked``): ``stack_seeds`` "on" stacks whenever the
components allow it, "auto" on CUDA devices unless ``search.cuda_graphs`` is set without
``search.cudnn_benchmark``, "off" never. One after another, 4 seeds cost 4× one seed's step.
Stacked, on a CPU, where one thread is already busy with arithmetic, they measured 3.4–3.8× at
C = 8, N = 1 and 5.5× at C = 16, N = 5; on an H200 (C = 16, N = 5), 2.15× eager, 4.49× with CUDA
graphs, and 2.77× with CUDA graphs and cuDNN's autotuning (README, "Stacked seeds").
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from harness.api.datasets import Dataset, ImageSet
from harness.api.errors import UserError
from harness.api.executors import Task
from harness.engine.devices import resolve_device
from harness.engine.reduced_dataset import ReducedDataset
from harness.engine.stacked import unstackable_reason
from harness.experiment.checks import resolve_config
from harness.experiment.config import config_hash
from harness.experiment.loggers import attached_loggers
from harness.experiment.runner import Run, complete_run, prepare_run, run_one
from harness.experiment.stacking import search_stacked
from harness.plugin.failures import describe_exception
from harness.plugin.manager import Plugins, get_plugins
from harness.store import run_folder as results
from harness.store.seed_lock import SeedLock

STACK_MODES = ("auto", "on", "off")
Planned = tuple[int, dict[str, Any], Path]


def check_stack_mode(mode: str) -> None:
    if mode not in STACK_MODES:
        raise UserError(f"--stack-seeds {mode!r}: expected one of {', '.join(STACK_MODES)}")


def seed_folder(results_root: Path, config: dict[str, Any], seed: int, device: torch.device) -> tuple[dict[str, Any], Path]:
    """The seed's config and its run folder (named by the config's hash)."""
    seeded = {**config, "seed": seed, "device": str(device)}
    return seeded, results.run_dir(results_root, config["method"], config["space"]["name"], config["dataset"]["name"],
                                   config_hash(seeded), seed)


def stacks_seeds(mode: str, device: torch.device, search: dict[str, Any]) -> bool:
    """Whether ``--stack-seeds mode`` stacks seeds (that can stack) on ``device`` with these search settings."""
    graphs_untuned = bool(search.get("cuda_graphs")) and not search.get("cudnn_benchmark")
    return mode == "on" or (mode == "auto" and device.type == "cuda" and not graphs_untuned)


def run_seeds(method: str, dataset: str | None, user_config: dict[str, Any], seeds: list[int],
              device: str = "auto", results_root: Path = Path("results/runs"),
              retry_failed: bool = False, on_seed_done: Callable[[Path], None] | None = None,
              reuse_supernets: bool = True, stack_seeds: str = "auto") -> list[Path]:
    """Run ``method`` once per seed; returns the run folders (finished ones are skipped).

    Each seed runs under its folder's lock, so a second command on the same results
    folder never computes a seed twice: it takes the seeds nobody runs, then waits for
    the others (and resumes one whose runner died). With ``reuse_supernets`` a seed whose
    supernet another method already trained under ``results_root`` starts from it
    (``harness.store.supernets``).
    """
    check_stack_mode(stack_seeds)
    plugins = get_plugins()
    config = resolve_config(plugins, method, dataset, user_config)
    torch_device = resolve_device(device)
    if torch_device.type == "cpu" and config.get("threads"):
        torch.set_num_threads(int(config["threads"]))
    source = ReducedDataset.wrap(plugins["dataset"].create(config["dataset"]["name"]), config["dataset"])
    planned: list[Planned] = []
    finished: set[Path] = set()
    for seed in seeds:  # every seed's record is read before any work: a damaged one stops nothing half-way
        seeded, folder = seed_folder(results_root, config, seed, torch_device)
        previous = previous_record(folder, retry_failed)
        if previous is not None and previous.get("status") == "finished":
            finished.add(folder)
        planned.append((seed, seeded, folder))
    if len(finished) < len(planned):  # only finished seeds: their folder is only read, and may be read-only
        results.prepare_root(results_root)
    loaded: list[tuple[ImageSet, ImageSet]] = []
    supernets = results_root if reuse_supernets else None
    stack = stacks_seeds(stack_seeds, torch_device, config["search"])

    def data() -> tuple[ImageSet, ImageSet]:
        if not loaded:
            loaded.append(load_dataset(source, config["dataset"].get("data_dir")))
        return loaded[0]

    def to_run(seed: int, folder: Path) -> bool:
        previous = previous_record(folder, retry_failed, seed)  # under the lock: another command may have finished it
        if previous is not None and not runs_again(previous, retry_failed):
            say_skipped(seed, folder, str(previous.get("status")))
            return False
        return True

    def say_skipped(seed: int, folder: Path, status: str) -> None:
        again = "" if status == "finished" else "; --retry-failed runs it again"
        print(f"{config['label']} seed {seed}: already {status} in {folder} (skipped{again})", file=sys.stderr)

    def done(folder: Path) -> None:
        if on_seed_done is not None:
            on_seed_done(folder)

    busy: list[Planned] = []
    with ExitStack() as held:
        ready: list[Planned] = []
        for seed, seeded, folder in planned:
            if folder in finished:  # a finished record is final: no lock needed to skip it
                say_skipped(seed, folder, "finished")
                done(folder)
                continue
            lock = SeedLock(folder, results_root)
            if not lock.acquire(wait=False):
                print(f"{config['label']} seed {seed}: being run by {lock.holder()}; back to it after the other seeds",
                      file=sys.stderr)
                busy.append((seed, seeded, folder))
                continue
            if stack:  # every ready seed's lock is held until the stack is done
                held.callback(lock.release)
                if to_run(seed, folder):
                    ready.append((seed, seeded, folder))
                    continue
            else:
                with lock:
                    if to_run(seed, folder):
                        run_one(plugins, seeded, source, data(), torch_device, folder, supernets)
            done(folder)
        if ready:
            run_stacked(plugins, ready, source, data(), torch_device, supernets, stack_seeds == "on")
            for _, _, folder in ready:
                done(folder)
    for seed, seeded, folder in busy:  # finished there: skipped; its holder died: resumed from its checkpoint
        lock = SeedLock(folder, results_root)
        print(f"{config['label']} seed {seed}: waiting for {lock.holder()}", file=sys.stderr)
        lock.acquire(wait=True)
        with lock:
            if to_run(seed, folder):
                run_one(plugins, seeded, source, data(), torch_device, folder, supernets)
        done(folder)
    return [folder for _, _, folder in planned]


def run_stacked(plugins: Plugins, ready: list[Planned], source: Dataset, loaded: tuple[ImageSet, ImageSet],
                device: torch.device, supernets: Path | None, explain: bool) -> None:
    """Build every ready seed, search those that start from the same epoch as one stack, finish each.

    ``explain``: say why seeds run one by one (``--stack-seeds on``).
    """
    runs: list[tuple[Run, Path]] = []
    for _, seeded, folder in ready:
        prepared = prepare_run(plugins, seeded, source, loaded, device, folder, supernets)
        if isinstance(prepared, Run):
            runs.append((prepared, folder))
    if not runs:
        return
    epochs = runs[0][0].context.config["search"]["epochs"]
    starts = [run.start_epoch for run, _ in runs if run.start_epoch < epochs]
    first = max(set(starts), key=starts.count) if starts else epochs
    group = [(run, folder) for run, folder in runs if run.start_epoch == first]
    reason = "no seed has search epochs left" if first >= epochs else unstackable_reason([run.trainer for run, _ in group])
    label = runs[0][0].context.config["label"]
    if reason is not None:
        if explain:
            print(f"{label}: seeds run one by one: {reason}", file=sys.stderr)
        group = []
    else:
        stacked = [(run, folder) for run, folder in group if started(run, folder, supernets)]
        failures = search_stacked([run for run, _ in stacked]) if stacked else []
        for (run, folder), failure in zip(stacked, failures):
            complete_run(run, folder, supernets, failure, started=True)
    for run, folder in runs:
        if all(run is not grouped for grouped, _ in group):
            complete_run(run, folder, supernets)


def started(run: Run, folder: Path, supernets: Path | None) -> bool:
    """``nasbench_run_start`` for a seed about to join a stack; one a plugin fails in is recorded as
    failed, as it would be alone, and stays out of the stack."""
    try:
        run.context.plugins.hook.nasbench_run_start(run=run.context)
    except UserError:
        raise
    except Exception as exc:
        complete_run(run, folder, supernets, describe_exception(exc), started=True)
        return False
    return True


def previous_record(folder: Path, retry_failed: bool, seed: int | None = None) -> dict[str, Any] | None:
    """The seed's record; a damaged one is an error, or with ``retry_failed`` a seed to run again
    (said on stderr when ``seed`` is given)."""
    try:
        return results.read_record(folder)
    except results.CorruptFile as exc:
        if not retry_failed:
            raise
        if seed is not None:
            print(f"{exc.message.split(';')[0]}: running seed {seed} again", file=sys.stderr)
        return None


def runs_again(previous: dict[str, Any] | None, retry_failed: bool) -> bool:
    """Whether a seed with this previous record computes: none yet, or a failed one retried."""
    return previous is None or (retry_failed and previous.get("status") != "finished")


def run_task(task: Task, done: Callable[[Path], None] | None = None) -> list[Path]:
    """One executor task in this process (an executor's ``work``; a module-level function, so it pickles)."""
    with attached_loggers(get_plugins(), task.loggers, Path(task.results_root)):
        return run_seeds(task.method, task.dataset, task.user_config, list(task.seeds), task.device,
                         Path(task.results_root), task.retry_failed, done, task.reuse_supernets, task.stack_seeds)


def needs_running(folder: Path, retry_failed: bool) -> bool:
    """Whether the seed will compute; a damaged record stops the command here, before any seed
    runs, as ``run_seeds`` does (with ``retry_failed`` the seed runs again)."""
    return runs_again(previous_record(folder, retry_failed), retry_failed)


def check_data_dir(source: Dataset, data_dir: str | None) -> None:
    if source.needs_data_dir and not data_dir:
        raise UserError(f"dataset {source.info.name} needs --data-dir. {source.download_hint}".strip())


def load_dataset(source: Dataset, data_dir: str | None) -> tuple[ImageSet, ImageSet]:
    check_data_dir(source, data_dir)
    try:
        return source.load(Path(data_dir).expanduser() if data_dir else None)
    except UserError:
        raise
    except Exception as exc:  # every seed needs the data: one line for the command, naming the plugin's code
        raise UserError(f"dataset {source.info.name} could not load its data: {describe_exception(exc)}") from None

"""``nasbench bench``: how fast one method searches on this machine, and what a paper's cost table needs.

Everything runs on random CIFAR-shaped images (10 classes, 3 channels, uint8, augmented as
CIFAR is), so no dataset is needed: the step costs what it costs on real data of that
size. Two figures are measured with the real trainer:

- the search step alone: architecture step + weight step on batches already on the device;
- the loop: ``Trainer.train_epoch`` (batching, augmentation, steps) and the epoch-end
  evaluation pass over the validation half;
- with ``stacked_seeds`` S > 1, also the search step of S seeds trained as one stacked
  model (``harness.engine.stacked``), against S times one seed's step.

The projection multiplies the loop's figures out to CIFAR-10's 25,000/25,000 search split
and the method's epochs on CIFAR-10 (selection and benchmark look-ups not included).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from harness.api.datasets import DatasetInfo, ImageSet
from harness.api.errors import UserError
from harness.api.run import RunContext
from harness.engine.allocator import loaded_allocator
from harness.engine.cuda_graphs import CapturedStep
from harness.engine.data import SearchData
from harness.engine.devices import peak_memory_mb, synchronize
from harness.engine.stacked import StackedTrainer, unstackable_reason
from harness.engine.trainer import Trainer
from harness.experiment.checks import resolve_config
from harness.experiment.config import merge
from harness.experiment.seeds import seed_everything
from harness.plugin.manager import Plugins

CIFAR10_SEARCH_HALF = 25_000
"""Images in each half of CIFAR-10's search split (DARTS and NB201: 25k train / 25k valid)."""
PROJECTION_DATASET = "cifar10"


@dataclass
class BenchReport:
    """Measured figures of one method × space size × resolution × device."""

    method: str
    space: str
    space_options: dict[str, Any]
    resolution: int
    batch_size: int
    device: str
    steps: int
    repeats: int
    bilevel: bool
    step_seconds: float
    step_images_per_second: float
    loop_step_seconds: float
    loop_images_per_second: float
    eval_images_per_second: float
    epoch_seconds: float
    epochs: int
    search_seconds: float
    peak_memory_mb: float
    settings: tuple[str, ...] = ()
    """The GPU-path search settings in force (amp, channels_last, compile, cuda_graphs, cudnn_benchmark)."""
    stacked_seeds: int = 1
    stacked_step_seconds: float | None = None
    """One search step of ``stacked_seeds`` seeds as one stacked model (every seed's architecture and weight step)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bench(plugins: Plugins, method: str, user: dict[str, Any], resolution: int, device: torch.device,
          steps: int = 5, repeats: int = 3, eval_images: int = 512, seed: int = 0,
          stacked_seeds: int = 1) -> BenchReport:
    """Time ``method``'s search step and loop on random ``resolution``² images (see the module doc)."""
    if steps < 1 or repeats < 1:
        raise UserError("bench needs --steps ≥ 1 and --repeats ≥ 1")
    if stacked_seeds < 1:
        raise UserError("bench needs --stacked-seeds ≥ 1")
    if resolution < 1:
        raise UserError("bench needs --resolution ≥ 1 (the image side in pixels)")
    config = resolve_config(plugins, method, PROJECTION_DATASET, user)
    if int(config["search"]["epochs"]) < 1:
        raise UserError(f"{method} trains no supernet (0 search epochs), so it has no search step to time; "
                        "bench a method that searches, e.g. darts")
    batch = int(config["search"]["batch_size"])
    if eval_images < 1:
        raise UserError("bench needs --eval-images ≥ 1")
    with tempfile.TemporaryDirectory(prefix="nasbench-bench-") as folder:
        half = max(batch, eval_images)
        (trainer,) = seeded_bench_trainers(plugins, config, resolution, device, [seed], half, Path(folder))
        report = _measure(trainer, config, resolution, device, steps, repeats)
        if stacked_seeds > 1:
            trainers = seeded_bench_trainers(plugins, config, resolution, device,
                                             range(seed, seed + stacked_seeds), half, Path(folder))
            reason = unstackable_reason(trainers)
            if reason is not None:
                raise UserError(f"--stacked-seeds: {config['method']} cannot train stacked here: {reason}")
            report.stacked_seeds = stacked_seeds
            report.stacked_step_seconds = _stacked_step_seconds(StackedTrainer(trainers), device, steps, repeats)
        return report


def _stacked_step_seconds(stack: StackedTrainer, device: torch.device, steps: int, repeats: int) -> float:
    return step_seconds(stack.fixed_step(), device, steps, repeats, warmup_calls(stack.captured))


def warmup_calls(captured: CapturedStep | None) -> int:
    """Calls before timing: one (allocations, kernel selection), or up to the first replay of a CUDA graph."""
    return 1 if captured is None else captured.warmup + 1


def step_seconds(step: Callable[[], object], device: torch.device, steps: int, repeats: int, warmup: int) -> float:
    """Median over ``repeats`` rounds of the seconds per call of ``step``, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def _measure(trainer: Trainer, config: dict[str, Any], resolution: int, device: torch.device, steps: int,
             repeats: int) -> BenchReport:
    batch = int(config["search"]["batch_size"])
    bilevel = trainer.optimizer.bilevel
    per_step = batch * (2 if bilevel else 1)  # images one step reads, as the trainer counts them

    batches = (next(trainer.train_stream), next(trainer.valid_stream) if bilevel else None)
    trainer.supernet.train()
    seconds = step_seconds(lambda: trainer.search_step(*batches), device, steps, repeats,
                           warmup_calls(trainer.captured))

    trainer.search["max_steps_per_epoch"] = steps
    loop_times, eval_rates = [], []
    for _ in range(repeats):
        before = trainer.seconds
        trainer.train_epoch()
        loop_times.append((trainer.seconds - before) / steps)
        synchronize(device)
        start = time.perf_counter()
        trainer.evaluate("valid")
        synchronize(device)
        eval_rates.append(len(trainer.run.data.valid) / (time.perf_counter() - start))

    loop_step_seconds = statistics.median(loop_times)
    eval_rate = statistics.median(eval_rates)
    epoch_seconds = (CIFAR10_SEARCH_HALF // batch) * loop_step_seconds + CIFAR10_SEARCH_HALF / eval_rate
    epochs = int(config["search"]["epochs"])
    return BenchReport(
        method=config["method"], space=config["space"]["name"], space_options=config["space"]["options"],
        resolution=resolution, batch_size=batch, device=_device_name(device), steps=steps, repeats=repeats,
        bilevel=bilevel, step_seconds=seconds, step_images_per_second=per_step / seconds,
        loop_step_seconds=loop_step_seconds, loop_images_per_second=per_step / loop_step_seconds,
        eval_images_per_second=eval_rate, epoch_seconds=epoch_seconds, epochs=epochs,
        search_seconds=epochs * epoch_seconds, peak_memory_mb=peak_memory_mb(device),
        settings=_gpu_settings(config["search"]))


def _gpu_settings(search: dict[str, Any]) -> tuple[str, ...]:
    flags = [name for name in ("amp", "channels_last", "cuda_graphs", "cudnn_benchmark") if search.get(name)]
    if search.get("compile"):
        detail = search.get("compile_mode") or search.get("compile_options")
        flags.append(f"compile={search['compile']}" + (f" ({detail})" if detail else ""))
    return tuple(flags)


def seeded_bench_trainers(plugins: Plugins, config: dict[str, Any], resolution: int, device: torch.device,
                          seeds: Iterable[int], half: int, folder: Path) -> list[Trainer]:
    """``bench_trainer`` per seed, each built right after seeding every generator with its seed
    (its supernet's initial weights come from the global one)."""
    trainers = []
    for seed in seeds:
        seed_everything(seed)
        trainers.append(bench_trainer(plugins, config, resolution, device, seed, half, folder))
    return trainers


def bench_trainer(plugins: Plugins, config: dict[str, Any], resolution: int, device: torch.device, seed: int,
             half: int, folder: Path) -> Trainer:
    """A real trainer on random uint8 CIFAR-shaped images, ``half`` in each search half, folders in ``folder``."""
    info = DatasetInfo("bench (--resolution)", num_classes=10, channels=3, image_size=resolution, mean=(0.5,) * 3,
                       std=(0.25,) * 3, augment=True)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (2 * half, 3, resolution, resolution), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (2 * half,), generator=generator)
    train = ImageSet(images, labels)
    data = SearchData.split(info, train, ImageSet(images[:1], labels[:1]), seed, device)
    space = plugins["search space"].create(config["space"]["name"])
    supernet = space.build_supernet(info, config["space"]["options"]).to(device)
    method = plugins["method"].create(config["method"])
    run_config = merge(config, {"seed": seed, "device": str(device)})
    context = RunContext(run_config, method, space, info, data, device, seed, folder, plugins)
    optimizer = plugins["optimizer"].create(config["optimizer"]["name"], config["optimizer"]["options"])
    optimizer.attach(space, supernet, context)
    return Trainer(context, supernet, optimizer)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'' if threads == 1 else 's'}, allocator {loaded_allocator()})"


def format_report(report: BenchReport) -> str:
    """The figures as a short text block (what a cost table needs last)."""
    options = ", ".join(f"{k}={v}" for k, v in report.space_options.items() if k in ("C", "N", "cell"))
    hours = report.search_seconds / 3600
    lines = [
        f"method {report.method} on {report.space} ({options}), {report.resolution}x{report.resolution} images, "
        f"batch {report.batch_size}, {report.device}"
        + (f", {', '.join(report.settings)}" if report.settings else ""),
        f"search step ({'architecture + weight' if report.bilevel else 'weight'} step): "
        f"{report.step_seconds * 1000:.1f} ms, {report.step_images_per_second:.0f} images/s",
        f"loop (batches, augmentation, steps): {report.loop_step_seconds * 1000:.1f} ms per step, "
        f"{report.loop_images_per_second:.0f} images/s; evaluation {report.eval_images_per_second:.0f} images/s",
        f"seconds per epoch on this device (CIFAR-10 search split, {CIFAR10_SEARCH_HALF:,}/{CIFAR10_SEARCH_HALF:,}): "
        f"{report.epoch_seconds:.0f} s",
        f"projected search cost ({report.epochs} epochs): {report.search_seconds:.0f} s = {hours:.2f} h "
        "(selection and benchmark look-ups not included)",
        f"peak memory: {report.peak_memory_mb:.0f} MB "
        f"({'accelerator' if report.device.startswith('cuda') else 'resident'})",
    ]
    if report.stacked_step_seconds is not None:
        seeds, stacked = report.stacked_seeds, report.stacked_step_seconds
        lines.append(f"{seeds} stacked seeds (one vmapped model): search step {stacked * 1000:.1f} ms = "
                     f"{stacked / report.step_seconds:.2f}× one seed's step ({seeds} seeds one after another: "
                     f"{seeds}×), {seeds * report.step_images_per_second * report.step_seconds / stacked:.0f} images/s")
    return "\n".join(lines)

"""Where a GPU search step's time goes: its CUDA kernels, for one seed and for stacked seeds.

For DARTS on the NB201 supernet (batch 64) it times the step, then profiles one step with
``torch.profiler`` and prints the number of kernels, their summed time and the costliest
kernels. When the summed kernel time is close to the step's time, the GPU is busy the whole
step: fewer launches (CUDA graphs, stacking seeds) cannot make it faster, only less work can.
CUDA graphs are profiled as replayed (CUPTI traces the kernels of a graph launch)::

    python3 benchmarks/gpu_kernel_profile.py --configs 16,5,32 --stacked-seeds 4 \
        --set search.cuda_graphs=true --set search.cudnn_benchmark=true
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from harness import UserError, get_plugins
from harness.engine.cuda_graphs import CapturedStep
from harness.engine.stacked import StackedTrainer
from harness.engine.trainer import Trainer
from harness.experiment.bench import seeded_bench_trainers, step_seconds, warmup_calls
from harness.experiment.checks import resolve_config
from harness.experiment.config import merge, parse_assignment

CUDA = torch.device("cuda")


def trainers(search: dict[str, object], seeds: int, C: int, N: int, resolution: int, folder: Path) -> list[Trainer]:
    plugins = get_plugins()
    config = resolve_config(plugins, "darts", "cifar10", {"space": {"options": {"C": C, "N": N}}, "search": search})
    return seeded_bench_trainers(plugins, config, resolution, CUDA, range(seeds), 64, folder)


def report(label: str, step: Callable[[], object], captured: CapturedStep | None, top: int) -> None:
    wall = step_seconds(step, CUDA, 20, 1, warmup_calls(captured)) * 1e3
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    per_kernel: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for event in prof.events():
        if event.device_type == DeviceType.CUDA:
            per_kernel[event.name][0] += 1
            per_kernel[event.name][1] += event.time_range.elapsed_us()
    count = int(sum(n for n, _ in per_kernel.values()))
    busy = sum(us for _, us in per_kernel.values()) / 1e3
    print(f"\n{label}: {wall:.1f} ms a step; profiled: {count} kernels, {busy:.1f} ms of kernel time", flush=True)
    for name, (n, us) in sorted(per_kernel.items(), key=lambda item: -item[1][1])[:top]:
        print(f"  {int(n):6d} × {us / n:7.1f} µs = {us / 1e3:7.2f} ms  {name[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="16,5,32", help="C,N,resolution triples separated by ';'")
    parser.add_argument("--stacked-seeds", type=int, default=4, help="also profile this many seeds stacked (1: not)")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="search.KEY=VALUE",
                        help="search settings for both, e.g. search.cuda_graphs=true")
    parser.add_argument("--top", type=int, default=12, help="kernels listed per profile")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("Error: gpu_kernel_profile.py profiles CUDA kernels and needs a CUDA device")
    user: dict[str, Any] = {}
    try:
        for assignment in args.assignments:
            user = merge(user, parse_assignment(assignment))
    except UserError as error:
        sys.exit(f"Error: {error}")
    search = user.get("search", {})
    print(torch.__version__, torch.cuda.get_device_name(), "search settings:", search or "defaults")
    for triple in args.configs.split(";"):
        C, N, resolution = (int(v) for v in triple.split(","))
        with tempfile.TemporaryDirectory() as folder:
            one = trainers(search, 1, C, N, resolution, Path(folder))[0]
            batches = (next(one.train_stream), next(one.valid_stream))
            one.supernet.train()
            report(f"C={C}, N={N}, {resolution}x{resolution}: one seed", partial(one.search_step, *batches),
                   one.captured, args.top)
            if args.stacked_seeds > 1:
                stack = StackedTrainer(trainers(search, args.stacked_seeds, C, N, resolution, Path(folder)))
                report(f"C={C}, N={N}, {resolution}x{resolution}: {args.stacked_seeds} stacked seeds",
                       stack.fixed_step(), stack.captured, args.top)


if __name__ == "__main__":
    main()

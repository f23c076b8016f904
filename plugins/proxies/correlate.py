"""How well does a proxy rank architectures? Spearman's ρ against a benchmark metric.

The experiment of Abdelfattah et al. (2021, Table 2 for NB201): sample distinct
architectures uniformly, build each discrete network at initialization, score it with
every proxy on one batch of real training data (the same batch for all), and rank-correlate
the scores with the benchmark's trained accuracy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from tqdm.auto import tqdm

from harness import (
    Architecture,
    Benchmark,
    DatasetInfo,
    ImageSet,
    Proxy,
    SearchSpace,
    UserError,
    make_parent_folder,
    to_float,
)


@dataclass
class Correlation:
    """Per-architecture scores and, per proxy, Spearman's ρ with the metric."""

    metric: str
    scores: pd.DataFrame
    """One row per architecture: ``arch``, ``index`` (benchmark order, if any), the metric, one column per proxy."""
    spearman: dict[str, float]
    seconds: float


def sample_distinct(space: SearchSpace, count: int, rng: np.random.Generator) -> list[Architecture]:
    """``count`` different architectures drawn uniformly (rejecting repeats)."""
    size = space.size()
    if count < 2:
        raise UserError(f"--samples {count}: a rank correlation needs at least 2 architectures")
    if size is not None and count > size:
        raise UserError(f"--samples {count}: the {space.name} space has only {size} architectures")
    chosen: dict[Architecture, None] = {}
    while len(chosen) < count:
        chosen.setdefault(space.sample(rng), None)
    return list(chosen)


def scoring_batch(train: ImageSet, info: DatasetInfo, batch_size: int, seed: int,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One seeded random batch of normalized training images and their labels."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(train), generator=generator)[:batch_size]
    return to_float(train.images[index], info).to(device), train.labels[index].to(device)


def metric_of(benchmark: Benchmark, space: SearchSpace, arch: Architecture, metric: str) -> float:
    """The benchmark's value of ``metric`` for ``arch``, or a ``UserError`` naming the known metrics."""
    metrics = benchmark.query(space, arch)
    if metric not in metrics:
        known = ", ".join(sorted(metrics)) or "none"
        raise UserError(f"--metric {metric}: benchmark {benchmark.name} has no such metric for "
                        f"{space.format(arch)}; it has: {known}")
    return float(metrics[metric])


def correlate(
    space: SearchSpace,
    benchmark: Benchmark,
    proxies: dict[str, Proxy],
    metric: str,
    info: DatasetInfo,
    batch: tuple[torch.Tensor, torch.Tensor] | None,
    samples: int,
    seed: int,
    network_options: dict[str, Any],
    device: torch.device,
    progress: bool = True,
) -> Correlation:
    """Score ``samples`` random architectures of ``space`` with every proxy and correlate with ``metric``.

    ``batch`` is the one batch of real data; ``None`` is allowed only when every proxy is
    data-free (SynFlow then gets a zero batch of the input's shape, which it replaces by ones).
    Each network is initialized from ``seed`` and its position, so a run is reproducible.
    """
    if batch is None:
        if any(proxy.needs_labels or proxy.needs_inputs for proxy in proxies.values()):
            raise UserError("a proxy that needs real data was asked for without a dataset folder; "
                            "give --data-dir or use only data-free proxies such as synflow")
        batch = (torch.zeros(1, info.channels, info.image_size, info.image_size, device=device),
                 torch.zeros(1, dtype=torch.long, device=device))
    inputs, targets = batch
    start = time.perf_counter()
    rows = []
    archs = sample_distinct(space, samples, np.random.default_rng(seed))
    for position, arch in enumerate(tqdm(archs, desc="scoring architectures", disable=None if progress else True)):
        torch.manual_seed(seed * 1_000_003 + position)
        network = space.build_network(arch, info, network_options).to(device)
        row: dict[str, Any] = {"arch": space.format(arch), "index": benchmark.index_of(space, arch),
                               metric: metric_of(benchmark, space, arch, metric)}
        for name, proxy in proxies.items():
            row[name] = proxy.score(network, inputs, targets, F.cross_entropy)
        rows.append(row)
    scores = pd.DataFrame(rows)
    spearman = {name: float(spearmanr(scores[name], scores[metric]).statistic) for name in proxies}
    return Correlation(metric, scores, spearman, time.perf_counter() - start)


def prepare_output(path: Path) -> None:
    """Create the folder of ``path``; the command calls it before scoring too, so a bad ``--output``
    fails in a second, not after the whole experiment."""
    make_parent_folder(path, "pass another --output")


def write_scores(correlation: Correlation, path: Path) -> None:
    """The per-architecture table as CSV (the folder is created)."""
    prepare_output(path)
    correlation.scores.to_csv(path, index=False)

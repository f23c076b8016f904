"""The official NAS-Bench-201 ``.pth`` file, read through the authors' ``nas_201_api``.

The file is a pickle, and unpickling can run arbitrary code, so it is opened only after
the user says they trust it (option ``trust`` or ``NASBENCH_TRUST_PICKLES=1``). No
official checksum is published in a form we can verify, so there is no checksum path.

Metrics come from ``api.get_more_info(index, dataset, hp, is_random=False)``, i.e. the
mean over the trained seeds, after the last epoch. Its ``test`` is ``ori-test`` for
cifar10 and cifar10-valid and ``x-test`` for cifar100 / ImageNet16-120; ``valid`` is
``x-valid``; ``train-all-time`` is the total training time in seconds. hp ``"200"``
gives the plain keys, hp ``"12"`` the ``@12`` keys.
"""
from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from harness import UserError
from plugins.nb201_benchmark.table import MetricTable

TRUST_ENV = "NASBENCH_TRUST_PICKLES"
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
HP_SUFFIXES = {"200": "", "12": "@12"}
INFO_TO_METRIC = {
    "train-accuracy": "train_acc",
    "train-loss": "train_loss",
    "train-all-time": "train_time",
    "valid-accuracy": "valid_acc",
    "valid-loss": "valid_loss",
    "test-accuracy": "test_acc",
    "test-loss": "test_loss",
}
"""``get_more_info`` keys → our ``<split>_<metric>`` names (the per-epoch times are left out)."""


def trusted(option: Any) -> bool:
    """The user allowed unpickling, by the benchmark option or the environment."""
    def truthy(value: Any) -> bool:
        return str(value).strip().lower() in ("1", "true", "yes", "on")

    return truthy(option) or truthy(os.environ.get(TRUST_ENV, ""))


def metrics_from_api(api: Any, index: int) -> dict[str, float]:
    """All metrics the API has for architecture ``index``, under our metric keys.

    A dataset or hp that this file version lacks (v1_0 has 12-epoch results only for
    cifar10-valid) raises inside the API and is simply left out.
    """
    metrics: dict[str, float] = {}
    for hp, suffix in HP_SUFFIXES.items():
        for dataset in DATASETS:
            try:
                info = api.get_more_info(index, dataset, hp=hp, is_random=False)
            except (KeyError, ValueError, AssertionError):
                continue
            for key, metric in INFO_TO_METRIC.items():
                value = info.get(key)
                if value is not None:
                    metrics[f"{dataset}/{metric}{suffix}"] = float(value)
    return metrics


class OfficialNB201:
    """A ``MetricSource`` over a loaded ``NASBench201API`` (the official index order is the API's)."""

    def __init__(self, api: Any, path: Path) -> None:
        self.api = api
        self.path = path
        self._table: MetricTable | None = None

    @classmethod
    def open(cls, path: Path, trust: Any = False) -> OfficialNB201:
        if not trusted(trust):
            raise UserError(
                f"{path} is a pickle (torch .pth), and unpickling an untrusted file can run arbitrary code; "
                "if it is the official NAS-Bench-201 file from a source you trust, pass --trust (nasbench query, "
                "benchmark info) or --set benchmarks.options.nb201.trust=true (nasbench run), or set "
                f"{TRUST_ENV}=1, "
                f"or run `nasbench benchmark import {path} --trust` once to convert it to a plain CSV table")
        resolved = path.resolve()
        return cls(_load_api(str(resolved), resolved.stat().st_mtime_ns), path)

    def __len__(self) -> int:
        return len(self.api)

    def metrics(self, arch_str: str) -> dict[str, float] | None:
        index = self.index_of(arch_str)
        return None if index is None else metrics_from_api(self.api, index)

    def index_of(self, arch_str: str) -> int | None:
        index = self.api.query_index_by_arch(arch_str)
        return None if index < 0 else int(index)

    def arch_str_at(self, index: int) -> str:
        if not 0 <= index < len(self):
            raise UserError(f"index {index} is out of range for {self.path} (0..{len(self) - 1})")
        return str(self.api[int(index)])

    def metric_names(self) -> list[str]:
        return list(metrics_from_api(self.api, 0)) if len(self) else []

    def optimum(self, metric: str) -> float | None:
        """Best value over all architectures (the first call queries every one of them)."""
        if self._table is None:
            self._table = MetricTable.from_frame(self.to_frame(), self.path)
        return self._table.optimum(metric)

    def to_frame(self) -> pd.DataFrame:
        """Every architecture's metrics in the compact table format, in official index order."""
        rows = [{"index": index, "arch_str": str(self.api[index]), **metrics_from_api(self.api, index)}
                for index in range(len(self))]
        return pd.DataFrame(rows)


def _api_class() -> Any:
    try:
        from nas_201_api import NASBench201API
    except ImportError:
        raise UserError("reading the official NAS-Bench-201 .pth needs its API: "
                        "pip install 'nasbench[nb201-api]' (package nas-bench-201)") from None
    return NASBench201API


@contextmanager
def _full_unpickling() -> Iterator[None]:
    """Let the API's own ``torch.load`` unpickle the whole file (torch ≥ 2.6 defaults to weights only).

    Scoped to the one call and entered only after the user trusted the file.
    """
    name = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
    previous = os.environ.get(name)
    os.environ[name] = "1"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f"Environment variable {name} detected")
            yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@lru_cache(maxsize=1)
def _load_api(path: str, mtime_ns: int) -> Any:
    """Load the (multi-GB) file once per process; ``mtime_ns`` makes a replaced file reload."""
    api_class = _api_class()
    try:
        with _full_unpickling():
            return api_class(path, verbose=False)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, AssertionError, KeyError, TypeError,
            ValueError, ImportError, AttributeError) as exc:
        raise UserError(f"cannot read {path} as the official NAS-Bench-201 file ({type(exc).__name__}: {exc}); "
                        "download NAS-Bench-201-v1_1-096897.pth again from the NAS-Bench-201 authors") from None

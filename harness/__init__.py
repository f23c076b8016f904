"""nasbench's public API: everything a plugin (built-in or third-party) may import.

The package is layered; each layer imports only the ones before it:
``api`` (contracts) → ``plugin`` (hook specs, registries) → ``engine`` (data, trainer,
gradients) → ``store`` (run folders on disk) → ``report`` (statistics, tables, plots)
→ ``experiment`` (config, runner, suites) → ``cli``. Plugins import this module only; their tests use
``plugin_installed`` and ``run_nasbench`` to load a plugin in process and run commands.

Names that need torch (the supernet base class and the engine) are imported on first
use (PEP 562 ``__getattr__``), so ``import harness`` — and with it ``nasbench --help``,
``list``, ``plugins`` and ``query`` — does not pay the seconds importing torch takes.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.api.benchmarks import Benchmark, BenchmarkContext, BenchmarkUnavailable
from harness.api.datasets import Dataset, DatasetInfo, ImageSet
from harness.api.errors import UserError
from harness.api.executors import Done, Executor, Task, Work, Worker, serve_tasks, start_worker
from harness.api.loggers import RunLogger, flat_items, numeric_items, run_name
from harness.api.methods import Method
from harness.api.optimizers import ArchOptimizer
from harness.api.options import AdamBeta, NoOptions, Options, describe_options, parse_options
from harness.api.proxies import Proxy
from harness.api.run import Components, RunContext, SplitData
from harness.api.selectors import Selection, SelectionContext, Selector
from harness.api.spaces import NONE_OP, Architecture, RowChoice, SearchSpace
from harness.api.step import Batch, SearchStep, TrainerView, WeightTransform
from harness.cli.testing import plugin_installed, run_nasbench
from harness.plugin.hookspecs import hookimpl
from harness.plugin.manager import get_plugins
from harness.store.benchmark_files import locate_benchmark_file, nasbench_home
from harness.store.run_folder import load_checkpoint, make_parent_folder, save_checkpoint

if TYPE_CHECKING:
    from harness.api.supernet import Supernet
    from harness.engine.arch_gradient import arch_gradient
    from harness.engine.data import BatchStream, SearchData, augment, iterate_once, to_float
    from harness.engine.devices import resolve_device
    from harness.engine.evaluation import network_accuracy
    from harness.engine.trainer import DivergedError, Trainer
    from harness.experiment.seed_workers import run_side_by_side, seed_processes

LAZY = {
    "Supernet": "harness.api.supernet",
    "arch_gradient": "harness.engine.arch_gradient",
    "BatchStream": "harness.engine.data",
    "SearchData": "harness.engine.data",
    "augment": "harness.engine.data",
    "iterate_once": "harness.engine.data",
    "to_float": "harness.engine.data",
    "resolve_device": "harness.engine.devices",
    "network_accuracy": "harness.engine.evaluation",
    "DivergedError": "harness.engine.trainer",
    "Trainer": "harness.engine.trainer",
    "run_side_by_side": "harness.experiment.seed_workers",
    "seed_processes": "harness.experiment.seed_workers",
}
"""Public names that import torch, and the module each comes from."""


def __getattr__(name: str) -> Any:
    module = LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AdamBeta", "arch_gradient", "Architecture", "ArchOptimizer", "augment", "Batch", "BatchStream", "Benchmark",
    "BenchmarkContext", "BenchmarkUnavailable", "Components", "Dataset", "DatasetInfo", "describe_options",
    "DivergedError", "Done", "Executor", "flat_items", "get_plugins", "hookimpl", "ImageSet", "iterate_once",
    "load_checkpoint", "locate_benchmark_file", "make_parent_folder", "Method", "nasbench_home", "NONE_OP",
    "network_accuracy", "NoOptions", "numeric_items", "Options", "parse_options", "plugin_installed", "Proxy",
    "resolve_device", "RowChoice", "run_name", "run_nasbench", "run_side_by_side", "RunContext", "RunLogger",
    "save_checkpoint", "SearchData", "SearchSpace", "SearchStep", "seed_processes", "Selection", "SelectionContext",
    "Selector", "serve_tasks", "SplitData", "start_worker", "Supernet", "Task", "to_float", "Trainer",
    "TrainerView", "UserError", "WeightTransform", "Work", "Worker"
]

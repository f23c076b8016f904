"""nasbench's public API: everything a plugin (built-in or third-party) may import.

The package is layered; each layer imports only the ones before it:
``api`` (contracts) → ``plugin`` (hook specs, registries) → ``engine`` (data, trainer,
gradients) → ``store`` (run folders on disk) → ``report`` (statistics, tables, plots)
→ ``experiment`` (config, runner, suites) → ``cli``. Plugins import this module only; their tests use
``plugin_installed`` and ``run_nasbench`` to load a plugin in process and run commands.
"""
from harness.api.benchmarks import Benchmark, BenchmarkContext, BenchmarkUnavailable
from harness.api.datasets import Dataset, DatasetInfo, ImageSet
from harness.api.errors import UserError
from harness.api.methods import Method
from harness.api.optimizers import ArchOptimizer
from harness.api.options import NoOptions, Options, describe_options, parse_options
from harness.api.proxies import Proxy
from harness.api.run import Components, RunContext, SplitData
from harness.api.selectors import Selection, SelectionContext, Selector
from harness.api.spaces import Architecture, SearchSpace, Supernet
from harness.api.step import Batch, SearchStep, TrainerView, WeightTransform
from harness.cli.testing import plugin_installed, run_nasbench
from harness.engine.arch_gradient import arch_gradient
from harness.engine.data import BatchStream, SearchData, augment, iterate_once, to_float
from harness.engine.devices import resolve_device
from harness.engine.trainer import DivergedError, Trainer
from harness.plugin.hookspecs import hookimpl
from harness.plugin.manager import get_plugins
from harness.store.run_folder import load_checkpoint, save_checkpoint

__all__ = [
    "Architecture", "ArchOptimizer", "Batch", "BatchStream", "Benchmark", "BenchmarkContext", "BenchmarkUnavailable",
    "Components", "Dataset", "DatasetInfo", "DivergedError", "ImageSet", "Method", "NoOptions", "Options", "Proxy",
    "RunContext", "SearchData", "SearchSpace", "SearchStep", "Selection", "SelectionContext", "Selector", "SplitData", "Supernet",
    "Trainer", "TrainerView", "UserError", "WeightTransform", "arch_gradient", "augment", "describe_options",
    "get_plugins", "hookimpl", "iterate_once", "load_checkpoint", "parse_options", "plugin_installed", "resolve_device",
    "run_nasbench", "save_checkpoint", "to_float",
]

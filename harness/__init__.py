"""nasbench's public API: everything a plugin (built-in or third-party) may import."""
from harness.benchmarks import Benchmark, BenchmarkContext, BenchmarkUnavailable
from harness.data import BatchStream, SearchData, augment, iterate_once, to_float
from harness.datasets import Dataset, DatasetInfo, ImageSet
from harness.errors import UserError
from harness.hookspecs import hookimpl
from harness.methods import Method
from harness.optimizers import ArchOptimizer
from harness.plugins import get_plugins
from harness.proxies import Proxy
from harness.run import RunContext
from harness.search import DivergedError, SearchStep, Trainer, arch_gradient
from harness.selectors import Selection, SelectionContext, Selector
from harness.spaces import Architecture, SearchSpace, Supernet

__all__ = [
    "Architecture", "ArchOptimizer", "BatchStream", "Benchmark", "BenchmarkContext", "BenchmarkUnavailable", "Dataset",
    "DatasetInfo", "DivergedError", "ImageSet", "Method", "Proxy", "RunContext", "SearchData",
    "SearchSpace", "SearchStep", "Selection", "SelectionContext", "Selector", "Supernet", "Trainer",
    "UserError", "arch_gradient", "augment", "get_plugins", "hookimpl", "iterate_once", "to_float",
]

"""The NAS-Bench-101 cell space (``nb101``): cells, pruning, the official hash, nasbench-pytorch networks."""
from collections.abc import Callable

from harness import hookimpl
from plugins.nb101.options import NB101NetworkOptions


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("nb101", "plugins.nb101.space:NB101Space",
             "NAS-Bench-101 cells (≤7 vertices, ≤9 edges, 3 ops; discrete), nasbench-pytorch networks",
             options=NB101NetworkOptions)

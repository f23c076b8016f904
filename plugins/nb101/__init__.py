"""The NAS-Bench-101 cell space (``nb101``): cells, pruning, the official hash, nasbench-pytorch networks."""
from collections.abc import Callable

from harness import hookimpl
from plugins.nb101.space import NB101Space


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("nb101", NB101Space,
             description="NAS-Bench-101 cells (≤7 vertices, ≤9 edges, 3 ops; discrete), nasbench-pytorch networks")

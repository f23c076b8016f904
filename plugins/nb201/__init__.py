"""The NAS-Bench-201 search space plugin (registered as ``nb201``)."""
from collections.abc import Callable

from harness import hookimpl
from plugins.nb201.space import NB201Space


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("nb201", NB201Space,
             description="NAS-Bench-201 cell: 6 edges x 5 ops (15,625 cells), ResNet-style macro skeleton")

"""The DARTS CNN search space (``darts``) and the genotype evaluation benchmark (``darts-retrain``)."""
from collections.abc import Callable

from harness import hookimpl
from plugins.darts_space.space import DartsSpace


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("darts", DartsSpace,
             description="DARTS CNN cells: 8 ops, normal + reduction cell of 14 edges each (28 edges), 2 inputs per node")

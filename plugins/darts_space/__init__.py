"""The DARTS CNN search space (``darts``) and RobustDARTS' S1–S4 (``darts-s1`` … ``darts-s4``),
the genotype evaluation benchmark (``darts-retrain``) and
DARTS+PT presets at darts-pt's DARTS-space settings."""
from collections.abc import Callable

from harness import hookimpl
from plugins.darts_space.methods import METHODS
from plugins.darts_space.retrain import DartsRetrain
from plugins.darts_space.robust import ROBUST_SPACES
from plugins.darts_space.space import DartsSpace


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("darts", DartsSpace,
             description="DARTS CNN cells: 8 ops, normal + reduction cell of 14 edges each (28 edges), 2 inputs per node")
    for space in ROBUST_SPACES:
        register(space.name, space, description=(space.__doc__ or "").rstrip("."))


@hookimpl
def nasbench_register_benchmarks(register: Callable[..., None]) -> None:
    register("darts-retrain", DartsRetrain,
             "train a DARTS genotype's evaluation network (20 cells, C=36, 600 epochs), report test error and params")


@hookimpl
def nasbench_register_methods(register: Callable[..., None]) -> None:
    for factory in METHODS:
        register(factory().name, factory, factory().description)

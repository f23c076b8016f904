"""The DARTS CNN search space (``darts``) and RobustDARTS' S1–S4 (``darts-s1`` … ``darts-s4``),
the genotype evaluation benchmark (``darts-retrain``) and
DARTS+PT presets at darts-pt's DARTS-space settings.

Components are registered as ``"module:Name"`` strings, so listing them imports no torch."""
from collections.abc import Callable

from harness import hookimpl
from plugins.darts_space.methods import METHODS
from plugins.darts_space.options import DartsRetrainOptions, DartsSpaceOptions

ROBUST_SPACES = {
    "darts-s1": ("S1Space", "RobustDARTS S1: two ops per edge, different on every edge"),
    "darts-s2": ("S2Space", "RobustDARTS S2: {skip_connect, sep_conv_3x3} on every edge"),
    "darts-s3": ("S3Space", "RobustDARTS S3: {none, skip_connect, sep_conv_3x3} on every edge"),
    "darts-s4": ("S4Space", "RobustDARTS S4: {noise, sep_conv_3x3} on every edge"),
}


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    register("darts", "plugins.darts_space.space:DartsSpace",
             "DARTS CNN cells: 8 ops, normal + reduction cell of 14 edges each (28 edges), 2 inputs per node",
             options=DartsSpaceOptions)
    for name, (cls, description) in ROBUST_SPACES.items():
        register(name, f"plugins.darts_space.robust:{cls}", description, options=DartsSpaceOptions)


@hookimpl
def nasbench_register_benchmarks(register: Callable[..., None]) -> None:
    register("darts-retrain", "plugins.darts_space.retrain:DartsRetrain",
             "train a DARTS genotype's evaluation network (20 cells, C=36, 600 epochs), report test error and params",
             options=DartsRetrainOptions)


@hookimpl
def nasbench_register_methods(register: Callable[..., None]) -> None:
    for factory in METHODS:
        register(factory().name, factory, factory().description)

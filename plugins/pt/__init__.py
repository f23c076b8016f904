"""Perturbation-based architecture selection (darts-pt): the ``pt`` selector and the
methods ``darts-pt``, ``darts-pt-fixalpha`` and ``darts-pt-mag``."""
from harness import hookimpl
from plugins.pt.methods import METHODS
from plugins.pt.selector import PTSelector


@hookimpl
def nasbench_register_selectors(register):
    register("pt", PTSelector, "perturbation-based selection: keep the op whose removal hurts the supernet most, "
             "edge by edge with fine-tuning")


@hookimpl
def nasbench_register_methods(register):
    for factory in METHODS:
        register(factory().name, factory, factory().description)

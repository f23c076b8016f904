"""Perturbation-based architecture selection (darts-pt): the ``pt`` selector and the
methods ``darts-pt``, ``darts-pt-fixalpha`` and ``darts-pt-mag``."""
from harness import hookimpl
from plugins.pt.methods import METHODS
from plugins.pt.options import PTOptions


@hookimpl
def nasbench_register_selectors(register):
    register("pt", "plugins.pt.selector:PTSelector",
             "perturbation-based selection: keep the op whose removal hurts the supernet most, "
             "edge by edge with fine-tuning", options=PTOptions)


@hookimpl
def nasbench_register_methods(register):
    for factory in METHODS:
        register(factory().name, factory, factory().description)

"""DARTS (1st and 2nd order), the fixed-α optimizer, the argmax and random selectors, and
the methods ``darts``, ``darts-2nd`` and ``random``."""
from harness import Method, hookimpl
from plugins.darts.options import DartsOptions

METHODS = [
    Method("darts", "darts", "argmax", "DARTS (1st order): softmax α, Adam on ∇α L_val, argmax"),
    Method("darts-2nd", "darts", "argmax", "DARTS (2nd order, unrolled gradient), argmax",
           {"optimizer": {"options": {"order": 2}}}),
    Method("random", "fixed", "random", "one uniformly random architecture (no search)", {"search": {"epochs": 0}}),
]


@hookimpl
def nasbench_register_optimizers(register):
    register("darts", "plugins.darts.optimizer:DartsOptimizer", "softmax α, Adam on ∇α L_val (1st or 2nd order)",
             options=DartsOptions)
    register("fixed", "plugins.darts.optimizer:FixedOptimizer", "α frozen uniform (PT fix-α; methods that learn no architecture)")


@hookimpl
def nasbench_register_selectors(register):
    register("argmax", "plugins.darts.selectors:ArgmaxSelector", "per edge, the op with the largest score")
    register("random", "plugins.darts.selectors:RandomSelector", "a uniformly random architecture")


@hookimpl
def nasbench_register_methods(register):
    for method in METHODS:
        register(method.name, lambda method=method: method, method.description)

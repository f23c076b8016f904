"""BaLeNAS: the VAdam architecture optimizer, the training-free ``proxy`` selector, and the
methods ``balenas``, ``balenas-2nd``, ``balenas-tf`` and ``zero-cost``."""
from harness import hookimpl
from plugins.balenas.methods import METHODS
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.balenas.proxy_selector import ProxySelector


@hookimpl
def nasbench_register_optimizers(register):
    register("balenas", BalenasOptimizer,
             "α ~ N(μ, σ²) learned with VAdam (1st or 2nd order)")


@hookimpl
def nasbench_register_selectors(register):
    register("proxy", ProxySelector,
             "best of K architectures by a training-free proxy")


@hookimpl
def nasbench_register_methods(register):
    for name, factory in METHODS.items():
        register(name, factory, factory().description)

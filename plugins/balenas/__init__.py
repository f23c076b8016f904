"""BaLeNAS: the VAdam architecture optimizer, the training-free ``proxy`` selector, and the
methods ``balenas``, ``balenas-2nd``, ``balenas-tf`` and ``zero-cost``."""
from harness import hookimpl
from plugins.balenas.methods import METHODS
from plugins.balenas.options import BalenasOptions, ProxySelectorOptions


@hookimpl
def nasbench_register_optimizers(register):
    register("balenas", "plugins.balenas.optimizer:BalenasOptimizer",
             "α ~ N(μ, σ²) learned with VAdam (1st or 2nd order)", options=BalenasOptions)


@hookimpl
def nasbench_register_selectors(register):
    register("proxy", "plugins.balenas.proxy_selector:ProxySelector",
             "best of K architectures by a training-free proxy", options=ProxySelectorOptions)


@hookimpl
def nasbench_register_methods(register):
    for name, factory in METHODS.items():
        register(name, factory, factory().description)

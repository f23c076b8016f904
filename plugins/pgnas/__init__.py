"""PGNAS (posterior-guided NAS): the ``pgnas`` optimizer, the ``posterior`` selector, the
``pgnas-resnet`` search space, and the methods ``pgnas``, ``pgnas-random`` and ``pgnas-resnet``."""
from harness import hookimpl
from plugins.pgnas.methods import METHODS
from plugins.pgnas.optimizer import PgnasOptimizer
from plugins.pgnas.posterior import PosteriorSelector
from plugins.pgnas.resnet_space import MultiBranchResNetSpace


@hookimpl
def nasbench_register_search_spaces(register):
    register("pgnas-resnet", MultiBranchResNetSpace,
             "multi-branch ResNet (3 stages x 1 block x 3 branch convs), one edge per gated input channel")


@hookimpl
def nasbench_register_optimizers(register):
    register("pgnas", PgnasOptimizer,
             "concrete-dropout gates with learned drop probabilities, KL of Eq. 15, single level")


@hookimpl
def nasbench_register_selectors(register):
    register("posterior", PosteriorSelector,
             "best of C architecture-weight pairs sampled from the optimizer, on held-out data")


@hookimpl
def nasbench_register_methods(register):
    for name, factory in METHODS.items():
        register(name, factory, factory().description)

"""PGNAS (posterior-guided NAS): the ``pgnas`` optimizer, the ``posterior`` selector, the
``pgnas-resnet`` search space, and the methods ``pgnas``, ``pgnas-random`` and ``pgnas-resnet``."""
from harness import hookimpl
from plugins.pgnas.methods import METHODS
from plugins.pgnas.options import PgnasOptions, PosteriorOptions, ResNetSpaceOptions


@hookimpl
def nasbench_register_search_spaces(register):
    register("pgnas-resnet", "plugins.pgnas.resnet_space:MultiBranchResNetSpace",
             "multi-branch ResNet (3 stages x 1 block x 3 branch convs), one edge per gated input channel",
             options=ResNetSpaceOptions)


@hookimpl
def nasbench_register_optimizers(register):
    register("pgnas", "plugins.pgnas.optimizer:PgnasOptimizer",
             "concrete-dropout gates with learned drop probabilities, KL of Eq. 15, single level",
             options=PgnasOptions)


@hookimpl
def nasbench_register_selectors(register):
    register("posterior", "plugins.pgnas.posterior:PosteriorSelector",
             "best of C architecture-weight pairs sampled from the optimizer, on held-out data",
             options=PosteriorOptions)


@hookimpl
def nasbench_register_methods(register):
    for name, factory in METHODS.items():
        register(name, factory, factory().description)

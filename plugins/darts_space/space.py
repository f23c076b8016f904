"""The DARTS CNN search space (Liu et al. 2019): 8 ops on the 14 edges of a normal and a reduction cell.

An architecture is 28 op indices (the normal cell's 14 edges, then the reduction cell's),
two of each node's input edges holding an op and the others ``none``; its string is the
genotype the DARTS code prints (``plugins.darts_space.genotype``). ``node_inputs`` and
``inputs_per_node = 2`` declare the topology, so ``argmax`` derives genotypes as DARTS'
``genotype()`` does and PT selects the inputs (darts-pt Algorithm 2).

Network size: ``C`` (initial channels) and ``N`` (normal cells per stage): the network
has ``3N + 2`` cells, reductions at a third and two thirds. The search network is
C = 16, N = 2 (8 cells); the CIFAR evaluation network C = 36, N = 6 (20 cells).
"""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any

from harness import Architecture, DatasetInfo, SearchSpace, UserError
from plugins.darts_space.genotype import EDGE_NAMES, INPUTS_PER_NODE, NODE_INPUTS, Genotype, parse_genotype, to_arch, to_genotype
from plugins.darts_space.network import DartsSupernet, GenotypeNetwork
from plugins.darts_space.ops import DARTS_OPS, NONE
from plugins.darts_space.options import DartsSpaceOptions


def layers_of(N: int) -> int:
    """Cells of a network with ``N`` normal cells in each of its three stages and two reduction cells."""
    return 3 * N + 2


class DartsSpace(SearchSpace):
    """DARTS' cell space on CIFAR; supernet BatchNorms non-affine, evaluation networks affine."""

    name = "darts"
    op_names = DARTS_OPS
    edge_names = EDGE_NAMES
    node_inputs = NODE_INPUTS
    inputs_per_node = INPUTS_PER_NODE
    Options = DartsSpaceOptions

    def build_supernet(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> DartsSupernet:
        opts = self._options(dataset, options)
        candidates = [self.candidate_ops(edge) for edge in range(self.num_edges)]
        return DartsSupernet(dataset.channels, dataset.num_classes, opts.C, layers_of(opts.N), self.op_names,
                             candidates)

    def build_network(self, arch: Architecture, dataset: DatasetInfo,
                      options: Mapping[str, Any] | None) -> GenotypeNetwork:
        opts = self._options(dataset, options)
        return GenotypeNetwork(self.genotype(arch), dataset.channels, dataset.num_classes, opts.C, layers_of(opts.N))

    def genotype(self, arch: Architecture) -> Genotype:
        return to_genotype(self._checked(arch), self.op_names)

    def parse(self, text: str) -> Architecture:
        return to_arch(parse_genotype(text), self.op_names, self.op_names.index(NONE), text)

    def format(self, arch: Architecture) -> str:
        return str(self.genotype(arch))

    def _checked(self, arch: Architecture) -> Architecture:
        values = tuple(arch)
        if len(values) != self.num_edges or not all(
                isinstance(v, Integral) and not isinstance(v, bool) and 0 <= v < self.num_ops for v in values):
            raise UserError(f"{self.name} architecture {values!r} must be {self.num_edges} op indices in "
                            f"0..{self.num_ops - 1} (ops {', '.join(self.op_names)})")
        return tuple(int(v) for v in values)

    def _options(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> DartsSpaceOptions:
        opts = self.options(options)
        assert isinstance(opts, DartsSpaceOptions)
        if opts.C % 2:
            raise UserError(f"{self.name} networks need an even C (FactorizedReduce halves the channels), got {opts.C}")
        if dataset.image_size % 4:
            raise UserError(f"{self.name} networks halve the image twice, so its size must be divisible by 4; "
                            f"dataset {dataset.name} has {dataset.image_size}")
        return opts

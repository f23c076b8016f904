"""The NAS-Bench-201 search space: 6 edges × 5 ops = 15,625 cells, official strings and NASLib tuples."""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import TYPE_CHECKING, Any

from harness import Architecture, DatasetInfo, SearchSpace, UserError
from plugins.nb201.encoding import EDGE_NAMES, EDGES, NUM_NODES, OP_NAMES
from plugins.nb201.options import NB201Options

if TYPE_CHECKING:
    from torch import nn

    from plugins.nb201.network import NB201Supernet

EXPECTED_FORM = ("expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (official string) "
                 "or a NASLib op-index tuple such as (0, 2, 2, 3, 4, 1)")

NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2))
"""NASLib's encoding (op order and edge order differ from the official ones)."""

SUPERNET_AFFINE = False
NETWORK_AFFINE = True


class NB201Space(SearchSpace):
    """NB201's cell space; integer indices are not parsed here because their order lives in the benchmark file."""

    name = "nb201"
    op_names = OP_NAMES
    edge_names = EDGE_NAMES
    Options = NB201Options

    def build_supernet(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> NB201Supernet:
        from plugins.nb201.network import NB201Supernet  # torch: only when a network is built

        opts = self._options(dataset, options, affine=SUPERNET_AFFINE)
        return NB201Supernet(dataset.channels, dataset.num_classes, **opts)

    def build_network(self, arch: Architecture, dataset: DatasetInfo,
                      options: Mapping[str, Any] | None) -> nn.Module:
        from plugins.nb201.network import NB201Network

        opts = self._options(dataset, options, affine=NETWORK_AFFINE)
        del opts["cell"]
        return NB201Network(self._checked(arch), dataset.channels, dataset.num_classes, **opts)

    def parse(self, text: str) -> Architecture:
        stripped = text.strip()
        if stripped[:1] in ("(", "["):
            return self._parse_naslib(text, stripped)
        if stripped.isdecimal():
            raise UserError(f"'{stripped}' is an NB201 index; indices follow the benchmark file's order, "
                            "so look it up through an NB201 benchmark, or give the architecture string")
        groups = stripped.split("+")
        if len(groups) != NUM_NODES - 1:
            raise self._bad(text, f"{len(groups)} node group(s) separated by '+', need {NUM_NODES - 1}")
        arch = [0] * len(EDGES)
        for node, group in enumerate(groups, start=1):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise self._bad(text, f"node {node}'s group '{group}' must start and end with '|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != node:
                raise self._bad(text, f"node {node} has {len(tokens)} input(s) in '{group}', "
                                      f"need {node} (from nodes 0..{node - 1})")
            for source, token in enumerate(tokens):
                arch[EDGES.index((node, source))] = self._parse_token(text, node, source, token)
        return tuple(arch)

    def format(self, arch: Architecture) -> str:
        arch = self._checked(arch)
        groups = []
        for node in range(1, NUM_NODES):
            ops = (f"{OP_NAMES[arch[EDGES.index((node, source))]]}~{source}" for source in range(node))
            groups.append("|" + "|".join(ops) + "|")
        return "+".join(groups)

    def _parse_token(self, text: str, node: int, source: int, token: str) -> int:
        op, tilde, index = token.partition("~")
        if not tilde:
            raise self._bad(text, f"'{token}' in node {node} is not of the form op~input")
        if op not in OP_NAMES:
            raise self._bad(text, f"unknown op '{op}'; known ops: {', '.join(OP_NAMES)}")
        if index != str(source):
            raise self._bad(text, f"node {node}'s input {source + 1} is '{token}', expected '{op}~{source}' "
                                  "(inputs are listed in order 0..node-1)")
        return OP_NAMES.index(op)

    def _parse_naslib(self, text: str, stripped: str) -> Architecture:
        closing = {"(": ")", "[": "]"}[stripped[0]]
        if not stripped.endswith(closing):
            raise self._bad(text, f"NASLib tuple must end with '{closing}'")
        items = [item.strip() for item in stripped[1:-1].split(",")]
        if items and items[-1] == "":
            items.pop()
        if not all(item.isdigit() and int(item) < len(NASLIB_OPS) for item in items):
            raise self._bad(text, f"NASLib tuple entries must be op indices 0..{len(NASLIB_OPS) - 1} "
                                  f"({', '.join(NASLIB_OPS)})")
        values = [int(item) for item in items]
        if len(values) != len(NASLIB_EDGES):
            raise self._bad(text, f"NASLib tuple has {len(values)} entries, need {len(NASLIB_EDGES)} "
                                  f"(edges {', '.join(f'{i}<-{j}' for i, j in NASLIB_EDGES)})")
        arch = [0] * len(EDGES)
        for edge, value in zip(NASLIB_EDGES, values):
            arch[EDGES.index(edge)] = OP_NAMES.index(NASLIB_OPS[value])
        return tuple(arch)

    @staticmethod
    def _bad(text: str, problem: str) -> UserError:
        return UserError(f"bad NB201 architecture {text.strip()!r}: {problem}; {EXPECTED_FORM}")

    def _checked(self, arch: Architecture) -> Architecture:
        values = tuple(arch)
        valid = len(values) == len(EDGES) and all(
            isinstance(v, Integral) and not isinstance(v, bool) and 0 <= v < len(OP_NAMES) for v in values)
        if not valid:
            raise UserError(f"NB201 architecture {values!r} must be {len(EDGES)} op indices in 0..{len(OP_NAMES) - 1} "
                            f"(edges {', '.join(EDGE_NAMES)}; ops {', '.join(OP_NAMES)})")
        return tuple(int(v) for v in values)

    def _options(self, dataset: DatasetInfo, options: Mapping[str, Any] | None,
                 affine: bool) -> dict[str, Any]:
        """Validated network options; ``affine`` defaults to False in the supernet, True in networks."""
        opts = self.options(options).model_dump()
        if opts["affine"] is None:
            opts["affine"] = affine
        if dataset.image_size % 4:
            raise UserError(f"NB201 networks halve the image twice, so the image size must be divisible by 4; "
                            f"dataset {dataset.name} has {dataset.image_size}")
        return opts

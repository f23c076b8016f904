"""The NAS-Bench-101 cell space as a discrete search space (``nb101``).

Architecture strings, e.g. the NB101 paper's example cell::

    0101000,0011100,0001000,0000001,0000010,0000001,0000000|conv3x3,conv1x1,conv1x1,conv3x3,conv1x1

are the adjacency matrix rows (bits, row i = edges out of vertex i) and, after ``|``,
the interior vertices' ops (``conv3x3``, ``conv1x1``, ``maxpool3x3`` or the official
``conv3x3-bn-relu`` …). Any vertex count from 2 to 7 is accepted; a cell is pruned on
parsing. NASLib's tuple (49 bits of the 7×7 matrix, then 7 op indices into
``[input, output, maxpool3x3, conv1x1, conv3x3]``, as the keys of
``zc_nasbench101.json``) is accepted too. ``format`` writes the pruned cell.

There is no supernet: NB101 cells differ in vertex count, so one-shot search uses the
NAS-Bench-1Shot1 spaces (``nb1shot1-1`` … ``-3``), whose cells all map into this space.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from torch import nn

from harness import Architecture, DatasetInfo, SearchSpace, Supernet, UserError
from plugins.nb101.network import build_nb101_network
from plugins.nb101.options import NB101NetworkOptions
from plugins.nb101.spec import (
    EDGE_PAIRS,
    INPUT,
    MAX_VERTICES,
    OPS,
    OUTPUT,
    SHORT_NAMES,
    Spec,
)

EXPECTED_FORM = ("expected matrix rows of 0/1 separated by ',' then '|' and the interior ops, e.g. "
                 "0110,0001,0001,0000|conv3x3,maxpool3x3, or a NASLib tuple of 49 bits and 7 op indices")
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
SPACE_SIZE = 423_624
"""Unique (non-isomorphic) NB101 cells, as reported by the NB101 paper."""
_BY_NAME = {**{op: op for op in OPS}, **{short: op for op, short in SHORT_NAMES.items()}}


def nb101_details(spec: Spec) -> dict[str, str]:
    """What a run records about a cell: its pruned spec and its official hash."""
    return {"nb101_spec": spec.checked().text(), "nb101_hash": spec.hash()}


class NB101Space(SearchSpace):
    """Discrete NB101 cells: 21 adjacency bits + 5 op indices per architecture (see ``plugins.nb101.spec``)."""

    name = "nb101"
    op_names = OPS
    edge_names = tuple(f"{i}->{j}" for i, j in EDGE_PAIRS) + tuple(f"op{v}" for v in range(1, MAX_VERTICES - 1))
    Options = NB101NetworkOptions

    def nb101_spec(self, arch: Architecture) -> Spec:
        """The pruned NB101 spec of an architecture of this space."""
        return Spec.from_arch(arch).checked()

    def describe(self, arch: Architecture) -> dict[str, str]:
        return nb101_details(self.nb101_spec(arch))

    def build_supernet(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> Supernet:
        raise UserError("nb101 has no supernet (its cells differ in vertex count); search on a NAS-Bench-1Shot1 "
                        "space (nb1shot1-1, nb1shot1-2, nb1shot1-3), whose cells are NB101 cells")

    def build_network(self, arch: Architecture, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> nn.Module:
        return build_nb101_network(self.nb101_spec(arch), dataset, NB101NetworkOptions.model_validate(dict(options or {})))

    def parse(self, text: str) -> Architecture:
        stripped = text.strip()
        if stripped[:1] in ("(", "["):
            return self._parse_naslib(stripped)
        rows_text, bar, ops_text = stripped.partition("|")
        if not bar:
            raise self._bad(text, "no '|' between the matrix and the ops")
        rows = [row.strip() for row in rows_text.split(",")]
        if not 2 <= len(rows) <= MAX_VERTICES or any(len(row) != len(rows) or set(row) - {"0", "1"} for row in rows):
            raise self._bad(text, f"the matrix must be 2..{MAX_VERTICES} rows of as many 0/1 digits as there are rows")
        names = [name.strip() for name in ops_text.split(",")] if ops_text.strip() else []
        if len(names) != len(rows) - 2:
            raise self._bad(text, f"{len(rows)} vertices need {len(rows) - 2} interior op(s), got {len(names)}")
        unknown = [name for name in names if name not in _BY_NAME]
        if unknown:
            raise self._bad(text, f"unknown op(s) {unknown}; ops: {', '.join(SHORT_NAMES.values())}")
        matrix = [[int(bit) for bit in row] for row in rows]
        return self._canonical(Spec.of(matrix, [INPUT, *(_BY_NAME[n] for n in names), OUTPUT]))

    def format(self, arch: Architecture) -> str:
        return self.nb101_spec(arch).text()

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random valid cell, drawn as the NB101 API's ``random_spec`` does (rejection)."""
        while True:
            bits = rng.integers(0, 2, size=len(EDGE_PAIRS))
            ops = rng.integers(0, len(OPS), size=MAX_VERTICES - 2)
            spec = Spec.from_arch(tuple(int(v) for v in (*bits, *ops)))
            if spec.problem() is None:
                return spec.to_arch()

    def size(self) -> int | None:
        return SPACE_SIZE

    def argmax(self, scores: Any) -> Architecture:
        raise UserError("nb101 is a discrete space without architecture parameters; search on nb1shot1-1/2/3")

    def _canonical(self, spec: Spec) -> Architecture:
        problem = spec.problem()
        if problem is not None:
            raise UserError(f"not a NAS-Bench-101 cell: {problem}")
        return spec.to_arch()

    def _parse_naslib(self, stripped: str) -> Architecture:
        items = [item.strip() for item in stripped[1:-1].split(",") if item.strip()]
        size = MAX_VERTICES
        if len(items) != size * size + size or not all(item.isdigit() for item in items):
            raise self._bad(stripped, f"a NASLib tuple has {size * size} adjacency bits and {size} op indices")
        values = [int(item) for item in items]
        if any(v >= len(NASLIB_OPS) for v in values[size * size:]):
            raise self._bad(stripped, f"NASLib op indices are 0..{len(NASLIB_OPS) - 1} ({', '.join(NASLIB_OPS)})")
        matrix = np.array(values[:size * size]).reshape(size, size)
        return self._canonical(Spec.of(matrix, [NASLIB_OPS[v] for v in values[size * size:]]))

    @staticmethod
    def _bad(text: str, problem: str) -> UserError:
        return UserError(f"bad NB101 architecture {text.strip()!r}: {problem}; {EXPECTED_FORM}")

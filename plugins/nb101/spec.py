"""NAS-Bench-101 cells (Ying et al. 2019): a DAG of at most 7 vertices and 9 edges.

Vertex 0 is the input, the last vertex the output, the others run one of three ops.
A spec is pruned the way the official ``ModelSpec`` prunes it (vertices not on a path
from input to output are dropped), and its hash is the official isomorphism-invariant
MD5 hash, computed by ``nasbench_pytorch.model.graph_util.hash_module`` on the pruned
matrix with labels ``-1`` (input), op index in ``OPS`` (interior) and ``-2`` (output).
(``nasbench_pytorch``'s own ``ModelSpec.hash_spec`` cannot be used: it passes a torch
tensor to ``np.sum(..., axis=...)`` and fails with a ``TypeError``.)

The harness's ``Architecture`` (a tuple of ints) of a cell is its 7-vertex form: the 21
upper-triangular adjacency bits in row-major order (0→1, 0→2, …, 0→6, 1→2, …, 5→6) and
then the op indices of vertices 1–5 into ``OPS``. A pruned spec with fewer vertices is
padded with unconnected ``conv3x3-bn-relu`` vertices before the output, which pruning
removes again, so the hash is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from harness import Architecture, UserError

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
"""The official ``available_ops`` order; it defines the hash labels."""
SHORT_NAMES = {CONV3X3: "conv3x3", CONV1X1: "conv1x1", MAXPOOL3X3: "maxpool3x3"}
MAX_VERTICES = 7
MAX_EDGES = 9
EDGE_PAIRS: tuple[tuple[int, int], ...] = tuple(combinations(range(MAX_VERTICES), 2))
"""The 21 upper-triangular (from, to) pairs, in the Architecture's bit order."""
INTERIOR = MAX_VERTICES - 2
ARCH_LENGTH = len(EDGE_PAIRS) + INTERIOR


@dataclass(frozen=True)
class Spec:
    """An NB101 cell as the official API takes it: adjacency matrix and one label per vertex."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @classmethod
    def of(cls, matrix: np.ndarray | list[list[int]], ops: list[str] | tuple[str, ...]) -> Spec:
        """A spec from a matrix and labels, checked for shape, triangularity and op names."""
        array = np.asarray(matrix)
        if array.ndim != 2 or array.shape[0] != array.shape[1]:
            raise UserError(f"NB101 adjacency matrix must be square, got shape {array.shape}")
        if array.shape[0] != len(ops):
            raise UserError(f"NB101 spec has a {array.shape[0]}x{array.shape[0]} matrix but {len(ops)} ops")
        if not np.isin(array, (0, 1)).all():
            raise UserError("NB101 adjacency matrix entries must be 0 or 1")
        if np.tril(array).any():
            raise UserError("NB101 adjacency matrix must be strictly upper triangular (edges go from lower to higher vertices)")
        labels = tuple(str(op) for op in ops)
        if len(labels) < 2 or labels[0] != INPUT or labels[-1] != OUTPUT:
            raise UserError(f"NB101 ops must start with '{INPUT}' and end with '{OUTPUT}', got {list(labels)}")
        unknown = [op for op in labels[1:-1] if op not in OPS]
        if unknown:
            raise UserError(f"unknown NB101 op(s) {unknown}; ops: {', '.join(OPS)}")
        return cls(tuple(tuple(int(v) for v in row) for row in array), labels)

    @property
    def array(self) -> np.ndarray:
        return np.array(self.matrix, dtype=np.int64)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return int(self.array.sum())

    def pruned(self) -> Spec | None:
        """The spec without vertices off every input→output path; None if input and output are disconnected."""
        matrix = self.array
        size = len(self.ops)
        forward = _reachable(matrix, 0)
        backward = _reachable(matrix.T, size - 1)
        keep = sorted(forward & backward)
        if 0 not in keep or size - 1 not in keep:
            return None
        return Spec(tuple(tuple(int(v) for v in row) for row in matrix[np.ix_(keep, keep)]),
                    tuple(self.ops[i] for i in keep))

    def problem(self) -> str | None:
        """Why this spec is outside NAS-Bench-101 (after pruning), or None if it is inside."""
        pruned = self.pruned()
        if pruned is None:
            return "the output is not reachable from the input"
        if pruned.num_vertices > MAX_VERTICES:
            return f"{pruned.num_vertices} vertices after pruning (at most {MAX_VERTICES})"
        if pruned.num_edges > MAX_EDGES:
            return f"{pruned.num_edges} edges after pruning (at most {MAX_EDGES})"
        return None

    def checked(self) -> Spec:
        """The pruned spec, or a ``UserError`` saying why it is not an NB101 cell."""
        problem = self.problem()
        if problem is not None:
            raise UserError(f"not a NAS-Bench-101 cell: {problem}")
        pruned = self.pruned()
        assert pruned is not None
        return pruned

    def hash(self) -> str:
        """The official NB101 module hash (MD5 hex) of the pruned spec."""
        from nasbench_pytorch.model.graph_util import hash_module

        pruned = self.checked()
        labels = [-1] + [OPS.index(op) for op in pruned.ops[1:-1]] + [-2]
        return str(hash_module(pruned.array, labels))

    def to_arch(self) -> Architecture:
        """The 26-int 7-vertex form of the pruned spec (see the module docstring)."""
        pruned = self.checked()
        size = pruned.num_vertices
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        position = list(range(size - 1)) + [MAX_VERTICES - 1]
        for i, j in zip(*np.nonzero(pruned.array)):
            matrix[position[i], position[j]] = 1
        ops = [OPS.index(op) for op in pruned.ops[1:-1]] + [OPS.index(CONV3X3)] * (MAX_VERTICES - size)
        return tuple(int(matrix[i, j]) for i, j in EDGE_PAIRS) + tuple(ops)

    @classmethod
    def from_arch(cls, arch: Architecture) -> Spec:
        """The (unpruned) 7-vertex spec of an Architecture tuple."""
        values = tuple(arch)
        valid = (len(values) == ARCH_LENGTH
                 and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values)
                 and all(v in (0, 1) for v in values[:len(EDGE_PAIRS)])
                 and all(0 <= v < len(OPS) for v in values[len(EDGE_PAIRS):]))
        if not valid:
            raise UserError(f"NB101 architecture {values!r} must be {len(EDGE_PAIRS)} adjacency bits (0/1) "
                            f"followed by {INTERIOR} op indices 0..{len(OPS) - 1} ({', '.join(OPS)})")
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        for bit, (i, j) in zip(values, EDGE_PAIRS):
            matrix[i, j] = int(bit)
        ops = [INPUT] + [OPS[int(v)] for v in values[len(EDGE_PAIRS):]] + [OUTPUT]
        return cls.of(matrix, ops)

    def text(self) -> str:
        """The readable string: matrix rows as bits, then the interior ops (short names)."""
        rows = ",".join("".join(str(v) for v in row) for row in self.matrix)
        return f"{rows}|{','.join(SHORT_NAMES[op] for op in self.ops[1:-1])}"


def _reachable(matrix: np.ndarray, start: int) -> set[int]:
    seen, frontier = {start}, [start]
    while frontier:
        vertex = frontier.pop()
        for nxt in np.nonzero(matrix[vertex])[0]:
            if int(nxt) not in seen:
                seen.add(int(nxt))
                frontier.append(int(nxt))
    return seen

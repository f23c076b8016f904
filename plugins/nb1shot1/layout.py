"""The three NAS-Bench-1Shot1 search spaces (Zela, Siems & Hutter, ICLR 2020) as rows of choices.

Each space fixes how many parents every node of the NB101 cell has
(automl/nasbench-1shot1 ``nasbench_analysis/search_spaces/search_space_{1,2,3}.py``):

=========  ===================  =========================================
space      choice blocks        parents of node 1, 2, …, output
=========  ===================  =========================================
1          4 (+1 unused)        1, 2 (fixed: 0 and 1), 2, 2, output 2
2          4 (+1 unused)        1, 1, 2, 2, output 3
3          5                    1, 1, 1, 2, 2, output 2
=========  ===================  =========================================

The architecture parameters are those of the reference's ``model_search.py``, in its
order: one row of op weights per choice block, one row over the output's candidate
parents (the cell input and every choice block), and one row over the candidate parents
(all earlier nodes) of every node whose parents are chosen (node 1 always takes the
input; in space 1 node 2 always takes the input and node 1). The harness keeps them in
one ``(rows, width)`` tensor; entries past a row's length are padding that the supernet
and ``argmax`` ignore.

An ``Architecture`` holds one int per row: the op index (into ``PRIMITIVES``) for a
choice block, and for a parents row the index of the chosen parent set in
``itertools.combinations(range(candidates), parents)`` order (the reference's
ConfigSpace order).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

PRIMITIVES: tuple[str, ...] = ("maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu")
"""The reference's op order (``optimizers/darts/genotypes.py``)."""


@dataclass(frozen=True)
class Row:
    """One row of architecture parameters: ``candidates`` valid entries, ``keep`` of them chosen."""

    name: str
    candidates: int
    keep: int
    node: int
    """The node this row decides (its op, or its parents); the output node for the output row."""

    @property
    def is_op(self) -> bool:
        return self.name.startswith("op")

    @cached_property
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """The row's choices in index order: single ops, or parent sets."""
        if self.is_op:
            return tuple((op,) for op in range(self.candidates))
        return tuple(combinations(range(self.candidates), self.keep))


@dataclass(frozen=True)
class Layout:
    number: int
    steps: int
    """Choice blocks (intermediate nodes with an op) in the supernet."""
    parents: tuple[int, ...]
    """Parents of nodes 1, 2, …, output (the reference's ``num_parents_per_node`` without node 0)."""
    fixed_inputs: int
    """Nodes 1..fixed_inputs take all earlier nodes as fixed parents (no parents row)."""

    @property
    def output_node(self) -> int:
        """The output's index in the space's own graph (5 or 6)."""
        return len(self.parents)

    @cached_property
    def rows(self) -> tuple[Row, ...]:
        ops = tuple(Row(f"op{node}", len(PRIMITIVES), 1, node) for node in range(1, self.steps + 1))
        output = Row("out", self.steps + 1, self.parents[-1], self.output_node)
        inputs = tuple(Row(f"in{node}", node, self.parents[node - 1], node)
                       for node in range(self.fixed_inputs + 1, self.steps + 1))
        return (*ops, output, *inputs)

    @property
    def width(self) -> int:
        return max(row.candidates for row in self.rows)

    def fixed_parents(self) -> dict[int, tuple[int, ...]]:
        return {node: tuple(range(node)) for node in range(1, self.fixed_inputs + 1)}


LAYOUTS = {
    1: Layout(1, steps=4, parents=(1, 2, 2, 2, 2), fixed_inputs=2),
    2: Layout(2, steps=4, parents=(1, 1, 2, 2, 3), fixed_inputs=1),
    3: Layout(3, steps=5, parents=(1, 1, 1, 2, 2, 2), fixed_inputs=1),
}

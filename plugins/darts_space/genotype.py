"""DARTS genotypes: the text of the DARTS code and the harness's one-op-per-edge architectures.

A cell has two inputs (states 0 and 1: the outputs of the two previous cells) and four
intermediate nodes 2..5; node ``i`` may read every earlier state, so a cell has
2 + 3 + 4 + 5 = 14 edges, in the reference's order (node 2's inputs 0, 1, then node 3's
inputs 0, 1, 2, ...; ``model_search.py``). An architecture of the space is 28 op indices:
edges 0..13 are the normal cell's, 14..27 the reduction cell's. A genotype keeps two
inputs per node; the other edges of an architecture hold the ``none`` op.

The text is what ``print(genotype)`` shows in the DARTS code (quark0/darts ``genotypes.py``)::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

Parsing reads that text with ``ast`` (no code runs) and also accepts ``range(2, 6)``, the
concat that ``model_search.py`` prints. An architecture has no order among a node's two
inputs, so ``format`` lists them by input index: a published genotype whose node lists
its inputs the other way round (DARTS V2's node 4) parses to the same architecture and
prints with that pair swapped; the network built is the same.
"""
from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from harness import UserError

STEPS = 4
"""Intermediate nodes per cell."""
CELL_TYPES = ("normal", "reduce")
CONCAT: tuple[int, ...] = tuple(range(2, 2 + STEPS))
CELL_EDGES: tuple[tuple[int, int], ...] = tuple((node, source) for node in range(2, 2 + STEPS) for source in range(node))
"""(node, input state) per edge of one cell, in the reference's order."""
EDGES_PER_CELL = len(CELL_EDGES)
EDGE_NAMES: tuple[str, ...] = tuple(f"{cell}:{node}<-{source}" for cell in CELL_TYPES for node, source in CELL_EDGES)
NODE_INPUTS: tuple[tuple[int, ...], ...] = tuple(
    tuple(offset + e for e, (node, _) in enumerate(CELL_EDGES) if node == target)
    for offset in (0, EDGES_PER_CELL) for target in range(2, 2 + STEPS))
"""The architecture's edge indices feeding each node: normal nodes 2..5, then reduction nodes 2..5."""
INPUTS_PER_NODE = 2
FORM = ("expected Genotype(normal=[(op, input), ...], normal_concat=[2, 3, 4, 5], reduce=[...], "
        "reduce_concat=[2, 3, 4, 5]) with two (op, input) pairs per node 2..5")

Gene = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Genotype:
    """Two (op, input) pairs per node, for the normal and the reduction cell."""

    normal: Gene
    reduce: Gene
    normal_concat: tuple[int, ...] = CONCAT
    reduce_concat: tuple[int, ...] = CONCAT

    def gene(self, reduction: bool) -> Gene:
        return self.reduce if reduction else self.normal

    def __str__(self) -> str:
        def pairs(gene: Gene) -> str:
            return "[" + ", ".join(f"({op!r}, {source})" for op, source in gene) + "]"
        return (f"Genotype(normal={pairs(self.normal)}, normal_concat={list(self.normal_concat)}, "
                f"reduce={pairs(self.reduce)}, reduce_concat={list(self.reduce_concat)})")


def to_genotype(arch: Sequence[int], op_names: Sequence[str]) -> Genotype:
    """The genotype of an architecture; raises ``UserError`` unless every node keeps exactly two inputs."""
    genes = []
    for c, cell in enumerate(CELL_TYPES):
        gene: list[tuple[str, int]] = []
        for node in range(2, 2 + STEPS):
            kept = [(op_names[arch[c * EDGES_PER_CELL + e]], source) for e, (n, source) in enumerate(CELL_EDGES)
                    if n == node and op_names[arch[c * EDGES_PER_CELL + e]] != "none"]
            if len(kept) != INPUTS_PER_NODE:
                raise UserError(f"not a DARTS genotype: {cell} node {node} has {len(kept)} input(s) that are not "
                                f"'none', a genotype keeps {INPUTS_PER_NODE}")
            gene.extend(kept)
        genes.append(tuple(gene))
    return Genotype(genes[0], genes[1])


def to_arch(genotype: Genotype, op_names: Sequence[str], none: int, text: str) -> tuple[int, ...]:
    """The 28-edge architecture of a genotype (pruned edges ``none``)."""
    arch = [none] * (2 * EDGES_PER_CELL)
    for c, cell in enumerate(CELL_TYPES):
        gene = genotype.gene(c == 1)
        concat = genotype.reduce_concat if c else genotype.normal_concat
        if tuple(concat) != CONCAT:
            raise bad(text, f"{cell}_concat is {list(concat)}; this space concatenates every node, {list(CONCAT)}")
        if len(gene) != INPUTS_PER_NODE * STEPS:
            raise bad(text, f"{cell} has {len(gene)} (op, input) pairs, need {INPUTS_PER_NODE * STEPS}")
        for index, (op, source) in enumerate(gene):
            node = 2 + index // INPUTS_PER_NODE
            if op not in op_names or op == "none":
                known = ", ".join(name for name in op_names if name != "none")
                raise bad(text, f"{cell} node {node}: op '{op}' is not in this space ({known})")
            if not 0 <= source < node:
                raise bad(text, f"{cell} node {node}: input {source} is not an earlier state (0..{node - 1})")
            edge = c * EDGES_PER_CELL + CELL_EDGES.index((node, source))
            if arch[edge] != none:
                raise bad(text, f"{cell} node {node} reads input {source} twice; an architecture has one op per edge")
            arch[edge] = op_names.index(op)
    return tuple(arch)


def parse_genotype(text: str) -> Genotype:
    """A ``Genotype(...)`` text as the DARTS code prints it (keywords or the four fields in order)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise bad(text, f"not Python syntax ({error.msg})") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise bad(text, "it must be a call Genotype(...)")
    fields = ("normal", "normal_concat", "reduce", "reduce_concat")
    if len(tree.args) > len(fields):
        raise bad(text, f"{len(tree.args)} positional fields, Genotype has {len(fields)}")
    values = dict(zip(fields, tree.args))
    for keyword in tree.keywords:
        if keyword.arg not in fields or keyword.arg in values:
            raise bad(text, f"unknown or repeated field '{keyword.arg}'; fields: {', '.join(fields)}")
        values[keyword.arg] = keyword.value
    missing = [name for name in ("normal", "reduce") if name not in values]
    if missing:
        raise bad(text, f"missing {', '.join(missing)}")
    return Genotype(_gene(values["normal"], text), _gene(values["reduce"], text),
                    _concat(values.get("normal_concat"), text), _concat(values.get("reduce_concat"), text))


def _gene(node: ast.expr, text: str) -> Gene:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise bad(text, "a cell must be a literal list of (op, input) pairs") from None
    pairs = []
    for item in value if isinstance(value, list | tuple) else [value]:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], int) and not isinstance(item[1], bool)):
            raise bad(text, f"{item!r} is not an (op, input) pair")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def _concat(node: ast.expr | None, text: str) -> tuple[int, ...]:
    if node is None:
        return CONCAT
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords):
        try:
            return tuple(range(*(int(ast.literal_eval(arg)) for arg in node.args)))
        except (ValueError, TypeError):
            raise bad(text, "range(...) of a concat must take integers") from None
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise bad(text, "a concat must be a list of node indices or range(a, b)") from None
    if not (isinstance(value, list | tuple) and all(isinstance(v, int) for v in value)):
        raise bad(text, f"concat {value!r} must be a list of node indices")
    return tuple(value)


def bad(text: str, problem: str) -> UserError:
    return UserError(f"bad DARTS genotype {' '.join(text.split())[:80]!r}: {problem}; {FORM}")

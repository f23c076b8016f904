"""From NAS-Bench-1Shot1 architecture parameters to an NB101 cell, as the reference does it.

Follows automl/nasbench-1shot1 ``nasbench_analysis/eval_darts_one_shot_model_in_nasbench.py``
and ``search_spaces/search_space.py``: each choice block's op is the argmax of its row;
each parents row and the output row keep their top-k entries; the adjacency matrix holds
the parent edges of the output and, recursively, of every node that reaches it
(``_create_adjacency_matrix``; its early stop on a valid graph only triggers once every
such node has its parents, so it is exactly this backward closure); spaces 1 and 2 are
padded to NB101's 7 vertices with an unconnected vertex 5 (``upscale_to_nasbench_format``,
op ``conv1x1-bn-relu``), which NB101's pruning removes.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from harness import Architecture
from plugins.nb1shot1.layout import PRIMITIVES, Layout
from plugins.nb101.spec import CONV1X1, INPUT, OUTPUT, Spec

NB101_VERTICES = 7


def argmax_arch(layout: Layout, scores: torch.Tensor) -> Architecture:
    """Per row: the best op, or the top-k parents (ties go to the lower index)."""
    table = scores.detach().float().cpu().reshape(len(layout.rows), layout.width)
    arch = []
    for row, values in zip(layout.rows, table):
        valid = values[:row.candidates]
        order = sorted(range(row.candidates), key=lambda i: (-float(valid[i]), i))
        chosen = tuple(sorted(order[:row.keep]))
        arch.append(row.choices.index(chosen))
    return tuple(arch)


def parents_of(layout: Layout, arch: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """Every node's parents (node → parent nodes), fixed ones included."""
    parents = layout.fixed_parents()
    for row, choice in zip(layout.rows, arch):
        if not row.is_op:
            parents[row.node] = row.choices[choice]
    return parents


def to_nb101(layout: Layout, arch: Sequence[int]) -> Spec:
    """The NB101 spec (7 vertices, unpruned) of a NAS-Bench-1Shot1 architecture."""
    parents = parents_of(layout, arch)
    size = layout.output_node + 1
    matrix = np.zeros((size, size), dtype=np.int64)
    pending, done = [layout.output_node], set()
    while pending:
        node = pending.pop()
        if node in done or node == 0:
            continue
        done.add(node)
        for parent in parents[node]:
            matrix[parent, node] = 1
            pending.append(parent)
    ops = [PRIMITIVES[arch[i]] for i, row in enumerate(layout.rows) if row.is_op]
    if size < NB101_VERTICES:
        matrix = np.insert(np.insert(matrix, size - 1, 0, axis=1), size - 1, 0, axis=0)
        ops.append(CONV1X1)
    return Spec.of(matrix, [INPUT, *ops, OUTPUT])

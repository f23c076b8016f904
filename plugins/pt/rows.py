"""PT on spaces whose rows choose sets of columns (``SearchSpace.row_choices``), e.g. NAS-Bench-1Shot1.

There a row of α is either a node's op (one of its columns) or a node's inputs (``keep`` of
its candidate parents, the output node's included). darts-pt has no such space; its
DARTS-space selection (``sota/cnn/projection.py``: ``project_op``, then ``project_edge``;
Algorithm 2 of the paper) maps onto it row for row: first every op row in random order,
keeping the column whose removal (weight 0) hurts the supernet most, then every inputs row
in random order, keeping the ``keep`` columns whose removal hurts most. A decided row is
written as 1 on its kept columns and 0 elsewhere, as darts-pt's ``proj_weights`` (a kept
DARTS edge carries its one-hot op, i.e. weight 1; a pruned one 0) and as
automl/nasbench-1shot1's discrete forward (``model_search.py``, ``discrete=True``). The
architecture is the space's ``argmax`` of those scores, so the parents are the top-k of the
decided rows exactly as nasbench-1shot1 reads them off its input weights (for NB1Shot1 then
mapped to an NB101 spec as argmax's architecture is). Measurement, tuning and schedule are
the selector's (``plugins.pt.selector``), as on NB201 and DARTS.

Where this departs from darts-pt, and why:

- The output node chooses its parents too (a DARTS cell concatenates every node), so its
  row is one more node of the topology phase; nodes whose parents are fixed (node 1, and
  node 2 in 1Shot1 space 1) have no row and nothing to decide.
- A node keeps its space's number of parents (1, 2 or 3), not darts-pt's two.
- Each inputs row is measured once and its top ``keep`` kept, as Algorithm 2 states;
  ``project_edge`` instead drops the least harmful edge and measures again until two are
  left, but it measures the same supernet each round (its dropped edges are not masked in
  the later rounds), so only the validation batches' noise differs.
- One cell type, so one row per decision (darts-pt decides a normal and a reduce edge at
  each projection epoch).
- PT-Mag keeps the largest logits of a row: on an op row DARTS' argmax, on an inputs row
  nasbench-1shot1's top-k input weights.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from harness import Architecture, RowChoice, SearchSpace


def row_decisions(rows: Sequence[RowChoice], rng: np.random.Generator) -> list[tuple[str, int]]:
    """The rows to decide: ops in random order, then inputs (``"topology"``) in random order.

    Rows with no more columns than they keep have nothing to decide.
    """
    def shuffled(kind: str) -> list[int]:
        indices = [i for i, row in enumerate(rows) if row.decides == kind and len(row.columns) > row.keep]
        return [int(i) for i in rng.permutation(indices)] if indices else []

    return [("op", row) for row in shuffled("op")] + [("topology", row) for row in shuffled("inputs")]


def keep_most_important(row: RowChoice, importance: Mapping[int, float]) -> tuple[int, ...]:
    """The row's ``keep`` columns of highest importance (ties: lower column), in column order."""
    ranked = sorted(row.columns, key=lambda column: (-importance[column], column))
    return tuple(sorted(ranked[:row.keep]))


def column_names(space: SearchSpace, row: RowChoice) -> dict[int, str]:
    """Op names on an op row; the candidate input's number on an inputs row."""
    return {column: space.op_names[column] if row.decides == "op" else str(column) for column in row.columns}


def decided_scores(logits: torch.Tensor, rows: Sequence[RowChoice], kept: Mapping[int, tuple[int, ...]]) -> torch.Tensor:
    """Scores whose ``argmax`` is the decided rows' kept columns and, elsewhere, the largest candidate logits."""
    scores = torch.full_like(logits, float("-inf"), dtype=torch.float)
    for index, row in enumerate(rows):
        columns = list(kept.get(index, row.columns))
        scores[index, columns] = 0.0 if index in kept else logits[index, columns].float()
    return scores


def arch_of(space: SearchSpace, logits: torch.Tensor, rows: Sequence[RowChoice],
            kept: Mapping[int, tuple[int, ...]]) -> Architecture:
    return space.argmax(decided_scores(logits.detach(), rows, kept))

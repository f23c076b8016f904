"""PGNAS on spaces whose rows choose sets of columns (``SearchSpace.row_choices``), e.g. NAS-Bench-1Shot1.

An adaptation: the paper has no cell or parent-set space. A row is either a node's op
(``decides="op"``: one of its columns) or a node's inputs (``decides="inputs"``: ``keep``
of its candidate parents). Every real column of every row gets its own concrete-dropout
gate, on an op row one per op, on an inputs row one per parent edge, trained as on
NB201; a posterior candidate is an independent Bernoulli(1 − p) keep per gate, scored as
that pattern. The best pattern becomes an architecture row by row:

- op row: the kept op with the largest keep probability 1 − p; if the pattern keeps
  none, the most-kept op;
- inputs row: the ``keep`` parents of largest keep probability among the kept ones,
  filled up, if fewer are kept, with the non-kept parents of largest keep probability,

so every row keeps exactly its ``keep`` columns and the architecture is always valid.
Both are one rule, "the ``keep`` columns of highest score, kept ones first", which is the
space's own ``argmax`` (``RowChoice``: it keeps each row's ``keep`` columns of highest
score) applied to ``row_scores``; NB1Shot1 then maps it to an NB101 cell as it maps any
argmax. Ties go to the lower column, as in ``argmax``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from harness import RowChoice

MIN_KEEP = 1e-12
"""Keep probabilities are floored here before their log (log MIN_KEEP ≈ −27.6)."""
KEPT_MARGIN = 1e3
"""Score gap that puts every kept column of a row above every non-kept one."""


def row_scores(kept: torch.Tensor, keep: torch.Tensor, rows: Sequence[RowChoice]) -> torch.Tensor:
    """Scores ``(..., rows, width)`` whose per-row top-``keep`` is the rule above, for gate patterns ``kept``
    (1 = kept) given keep probabilities ``keep`` ``(rows, width)``; columns outside a row are −inf."""
    log_keep = keep.double().clamp_min(MIN_KEEP).log()
    scores = torch.where(kept > 0, log_keep, log_keep - KEPT_MARGIN)
    real = torch.zeros(keep.shape, dtype=torch.bool, device=keep.device)
    for index, row in enumerate(rows):
        real[index, list(row.columns)] = True
    return torch.where(real, scores, torch.full_like(scores, float("-inf"))).to(keep.dtype)


def decided_columns(scores: torch.Tensor, row: RowChoice, index: int) -> tuple[int, ...]:
    """Row ``index``'s ``keep`` columns of highest score (ties: lower column), in column order."""
    values = scores[index].tolist()
    ranked = sorted(row.columns, key=lambda column: (-values[column], column))
    return tuple(sorted(ranked[:row.keep]))


def decided_weights(scores: torch.Tensor, rows: Sequence[RowChoice]) -> torch.Tensor:
    """The architecture ``argmax`` takes from ``scores`` as supernet weights ``(rows, width)``: 1 on each row's
    kept columns, 0 elsewhere (the reference's discrete forward, as PT writes decided rows)."""
    table = scores.detach().float().cpu()
    weights = torch.zeros_like(table)
    for index, row in enumerate(rows):
        weights[index, list(decided_columns(table, row, index))] = 1.0
    return weights

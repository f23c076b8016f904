"""NAS-Bench-1Shot1 spaces 1, 2 and 3 (``nb1shot1-1`` … ``nb1shot1-3``): one-shot search over NB101 cells.

Architecture strings name every row's choice, e.g. for space 3::

    ops=conv3x3,conv3x3,maxpool3x3,conv1x1,conv3x3;out=4,5;in2=1;in3=0;in4=1,3;in5=0,4

``ops`` are the choice blocks' ops (nodes 1…), ``out`` the output's parents and
``inN`` node N's parents (0 is the cell input). Every architecture is an NB101 cell
(``nb101_spec``), so the ``nb101`` benchmark answers for it and runs record its NB101
spec and hash; ``build_network`` builds that cell's NB101 network (nasbench-pytorch).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from harness import Architecture, DatasetInfo, RowChoice, SearchSpace, UserError
from plugins.nb1shot1.layout import LAYOUTS, PRIMITIVES, Layout, Row
from plugins.nb1shot1.mapping import argmax_arch, to_nb101
from plugins.nb1shot1.options import NB1Shot1Options
from plugins.nb1shot1.supernet import NB1Shot1Supernet
from plugins.nb101.network import build_nb101_network
from plugins.nb101.options import NB101NetworkOptions
from plugins.nb101.space import nb101_details
from plugins.nb101.spec import SHORT_NAMES, Spec

_OP_BY_NAME = {**{op: i for i, op in enumerate(PRIMITIVES)}, **{SHORT_NAMES[op]: i for i, op in enumerate(PRIMITIVES)}}


class NB1Shot1Space(SearchSpace):
    """One NAS-Bench-1Shot1 space; subclasses fix the layout."""

    layout: ClassVar[Layout]
    Options = NB1Shot1Options
    one_op_per_edge = False

    def __init__(self) -> None:
        rows = self.layout.rows
        self.edge_names = tuple(row.name for row in rows)
        self.op_names = PRIMITIVES + tuple(f"candidate{i}" for i in range(len(PRIMITIVES), self.layout.width))

    def nb101_spec(self, arch: Architecture) -> Spec:
        return to_nb101(self.layout, self._checked(arch))

    def describe(self, arch: Architecture) -> dict[str, str]:
        return nb101_details(self.nb101_spec(arch))

    def build_supernet(self, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> NB1Shot1Supernet:
        opts = self.options(options)
        assert isinstance(opts, NB1Shot1Options)
        return NB1Shot1Supernet(self.layout, dataset.channels, dataset.num_classes, opts.C, 3 * opts.N)

    def build_network(self, arch: Architecture, dataset: DatasetInfo, options: Mapping[str, Any] | None) -> nn.Module:
        opts = self.options(options)
        network_options = NB101NetworkOptions(**{k: getattr(opts, k) for k in NB101NetworkOptions.model_fields})
        return build_nb101_network(self.nb101_spec(arch), dataset, network_options)

    def candidate_ops(self, edge: int) -> tuple[int, ...]:
        """A row's valid entries; the rest of the ``(rows, width)`` tensor is padding, which optimizers
        leave at weight 0 (``logit_mask``), so each row's softmax is the reference's."""
        return tuple(range(self.layout.rows[edge].candidates))

    def row_choices(self) -> tuple[RowChoice, ...]:
        """Choice blocks pick one op; the output and the nodes with a parents row keep their number of parents."""
        return tuple(RowChoice(tuple(range(row.candidates)), row.keep, "op" if row.is_op else "inputs")
                     for row in self.layout.rows)

    def argmax(self, scores: torch.Tensor) -> Architecture:
        return argmax_arch(self.layout, scores)

    def sample(self, rng: np.random.Generator) -> Architecture:
        return tuple(int(rng.integers(0, len(row.choices))) for row in self.layout.rows)

    def size(self) -> int | None:
        """Architecture tuples: 14,580 / 29,160 / 1,312,200. The paper counts 6,240 / 29,160 / 363,648 cells
        for spaces 1-3 (its own counting of distinct graphs); several tuples can map to one NB101 cell."""
        return math.prod(len(row.choices) for row in self.layout.rows)

    def format(self, arch: Architecture) -> str:
        arch = self._checked(arch)
        rows = self.layout.rows
        ops = ",".join(SHORT_NAMES[PRIMITIVES[choice]] for row, choice in zip(rows, arch) if row.is_op)
        parts = [f"ops={ops}"] + [f"{row.name}={','.join(str(p) for p in row.choices[choice])}"
                                  for row, choice in zip(rows, arch) if not row.is_op]
        return ";".join(parts)

    def parse(self, text: str) -> Architecture:
        fields: dict[str, str] = {}
        for part in text.strip().split(";"):
            key, equals, value = part.partition("=")
            if not equals:
                raise self._bad(text, f"'{part}' is not key=value")
            fields[key.strip()] = value.strip()
        expected = ["ops"] + [row.name for row in self.layout.rows if not row.is_op]
        if sorted(fields) != sorted(expected):
            raise self._bad(text, f"keys must be {', '.join(expected)}")
        op_rows = [row for row in self.layout.rows if row.is_op]
        ops = [name.strip() for name in fields["ops"].split(",")]
        if len(ops) != len(op_rows) or any(op not in _OP_BY_NAME for op in ops):
            raise self._bad(text, f"ops needs {len(op_rows)} of {', '.join(SHORT_NAMES[p] for p in PRIMITIVES)}")
        op_choices = iter(_OP_BY_NAME[op] for op in ops)
        return tuple(next(op_choices) if row.is_op else self._parents(text, row, fields[row.name])
                     for row in self.layout.rows)

    def _parents(self, text: str, row: Row, value: str) -> int:
        try:
            chosen = tuple(sorted(int(p) for p in value.split(",")))
        except ValueError:
            raise self._bad(text, f"{row.name} must be node numbers separated by ','") from None
        if chosen not in row.choices:
            raise self._bad(text, f"{row.name} takes {row.keep} distinct parent(s) among 0..{row.candidates - 1}, "
                                  f"got {value!r}")
        return row.choices.index(chosen)

    def _checked(self, arch: Architecture) -> Architecture:
        values = tuple(arch)
        rows = self.layout.rows
        valid = len(values) == len(rows) and all(
            isinstance(v, Integral) and not isinstance(v, bool) and 0 <= v < len(row.choices)
            for v, row in zip(values, rows))
        if not valid:
            limits = ", ".join(f"{row.name}: 0..{len(row.choices) - 1}" for row in rows)
            raise UserError(f"{self.name} architecture {values!r} must have one choice index per row ({limits})")
        return tuple(int(v) for v in values)

    def _bad(self, text: str, problem: str) -> UserError:
        example = self.format(tuple(0 for _ in self.layout.rows))
        return UserError(f"bad {self.name} architecture {text.strip()!r}: {problem}; e.g. {example}")


class NB1Shot1Space1(NB1Shot1Space):
    name = "nb1shot1-1"
    layout = LAYOUTS[1]


class NB1Shot1Space2(NB1Shot1Space):
    name = "nb1shot1-2"
    layout = LAYOUTS[2]


class NB1Shot1Space3(NB1Shot1Space):
    name = "nb1shot1-3"
    layout = LAYOUTS[3]

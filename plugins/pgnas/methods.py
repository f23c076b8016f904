"""The PGNAS methods as named presets.

All of them train single-level with the KL of Eq. 15 as the only weight regularizer, so
the harness's weight decay is switched off (``search.weight_decay: 0``).
"""
from __future__ import annotations

from harness import Method

NO_WEIGHT_DECAY = {"search": {"weight_decay": 0.0}}


def pgnas() -> Method:
    return Method("pgnas", "pgnas", "posterior",
                  "PGNAS on a cell space: learned concrete-dropout gates per edge-op, best of C sampled "
                  "gate patterns (independent Bernoulli keeps) on held-out data, cell = the most-kept op "
                  "among each edge's kept ones",
                  NO_WEIGHT_DECAY)


def pgnas_heldout() -> Method:
    return Method("pgnas-heldout", "pgnas", "posterior",
                  "pgnas whose best gate pattern becomes a cell by held-out accuracy: edge by edge, the kept op "
                  "whose reduced pattern scores best on the validation half",
                  {**NO_WEIGHT_DECAY, "selector": {"options": {"cell_rule": "held_out"}}})


def pgnas_random() -> Method:
    return Method("pgnas-random", "pgnas", "posterior",
                  "PGNAS Table 3 'Random': the same supernet training and sampling with a fixed, "
                  "predefined drop probability (p_init) instead of a learned one",
                  {**NO_WEIGHT_DECAY, "optimizer": {"options": {"learn": False}}})


def pgnas_resnet() -> Method:
    return Method("pgnas-resnet", "pgnas", "posterior",
                  "PGNAS in its own setting: channel-level gates in a multi-branch ResNet supernet "
                  "(pgnas-resnet space), p from 0.1 at the search lr, no tabular benchmark (retrain)",
                  {**NO_WEIGHT_DECAY,
                   "space": {"name": "pgnas-resnet", "options": {"C": 16, "N": 1}},
                   "optimizer": {"options": {"lr_scale": 1.0, "p_init": 0.1}},
                   "benchmarks": {"names": ["retrain"]},
                   "selector": {"options": {"bn_train": False}}})


METHODS = {"pgnas": pgnas, "pgnas-heldout": pgnas_heldout, "pgnas-random": pgnas_random,
           "pgnas-resnet": pgnas_resnet}

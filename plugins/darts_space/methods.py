"""Method presets on the DARTS space at the reference settings.

darts-pt's ``exp_scripts/darts-sota.sh`` and ``darts-proj-sota.sh`` (ruocwang/darts-pt)
train the DARTS-space supernet (``sota/cnn/train_search.py`` defaults: 50 epochs, batch
64, C = 16, 8 cells, SGD 0.025 → 0.001) and then project with ``--proj_intv 5``,
``--edge_decision random`` and the accuracy criterion. The harness's search defaults
already match the supernet settings; these presets set the space, 50 epochs, ``proj_intv``
5 and the DARTS evaluation benchmark.
"""
from __future__ import annotations

from typing import Any

from harness import Method

SOTA: dict[str, Any] = {"space": {"name": "darts"}, "search": {"epochs": 50},
                        "benchmarks": {"names": ["darts-retrain"]}}
PT_SOTA: dict[str, Any] = {**SOTA, "selector": {"options": {"proj_intv": 5}}}


def darts_pt_darts() -> Method:
    return Method("darts-pt-darts", "darts", "pt",
                  "DARTS+PT on the DARTS CNN space at darts-pt's sota settings (50 epochs, proj_intv 5), "
                  "genotype retrained by darts-retrain", PT_SOTA)


def darts_pt_fixalpha_darts() -> Method:
    return Method("darts-pt-fixalpha-darts", "fixed", "pt",
                  "DARTS+PT (fix α) on the DARTS CNN space at darts-pt's sota settings", PT_SOTA)


METHODS = (darts_pt_darts, darts_pt_fixalpha_darts)

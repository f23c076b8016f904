"""PT's methods: a supernet trained as in darts-pt, then perturbation-based selection.

darts-pt trains NB201 supernets for 100 epochs (its ``train_search.py`` default, whose
checkpoint its projection scripts resume from) instead of the harness's 50, so all three
methods default to ``search.epochs = 100``; DARTS is first order there, the ``darts``
optimizer's default.
"""
from __future__ import annotations

from harness import Method

PT_EPOCHS = 100


def darts_pt() -> Method:
    return Method("darts-pt", "darts", "pt", "DARTS supernet (1st order), perturbation-based selection (PT)",
                  {"search": {"epochs": PT_EPOCHS}})


def darts_pt_fixalpha() -> Method:
    return Method("darts-pt-fixalpha", "fixed", "pt",
                  "supernet trained with α frozen uniform, then PT (darts-pt §6.3)",
                  {"search": {"epochs": PT_EPOCHS}})


def darts_pt_mag() -> Method:
    return Method("darts-pt-mag", "darts", "pt",
                  "DARTS supernet, PT's progressive tuning but ops chosen by largest α (ablation, §6.2)",
                  {"search": {"epochs": PT_EPOCHS}, "selector": {"options": {"mode": "magnitude"}}})


METHODS = (darts_pt, darts_pt_fixalpha, darts_pt_mag)

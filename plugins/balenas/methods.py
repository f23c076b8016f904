"""The BaLeNAS methods and the zero-cost baseline as named presets.

Every run's ``config.json`` states the full VAdam setting it used (the harness writes each
component's validated options, defaults included). The ``argmax`` selector and the
``fixed`` optimizer come from the DARTS plugin.
"""
from __future__ import annotations

from typing import Any

from harness import Method


def _balenas_options(order: int) -> dict[str, Any]:
    return {"optimizer": {"options": {"order": order}}}


def balenas() -> Method:
    return Method("balenas", "balenas", "argmax", "BaLeNAS (1st order): VAdam on α ~ N(μ, σ²), argmax of μ",
                  _balenas_options(order=1))


def balenas_2nd() -> Method:
    return Method("balenas-2nd", "balenas", "argmax", "BaLeNAS (2nd order, unrolled gradient), argmax of μ",
                  _balenas_options(order=2))


def balenas_tf() -> Method:
    defaults = _balenas_options(order=1)
    defaults["selector"] = {"options": {"source": "posterior"}}
    return Method("balenas-tf", "balenas", "proxy",
                  "BaLeNAS-TF: K archs sampled from q(α), best by a training-free proxy (SynFlow)", defaults)


def zero_cost() -> Method:
    return Method("zero-cost", "fixed", "proxy",
                  "zero-cost NAS: K uniformly random archs, best by a training-free proxy (no supernet)",
                  {"selector": {"options": {"source": "uniform"}}, "search": {"epochs": 0}})


METHODS = {"balenas": balenas, "balenas-2nd": balenas_2nd, "balenas-tf": balenas_tf, "zero-cost": zero_cost}

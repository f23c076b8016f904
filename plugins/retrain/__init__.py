"""The ``retrain`` benchmark: train the selected architecture from scratch and report its test accuracy."""
from __future__ import annotations

from typing import Any

from harness import hookimpl
from plugins.retrain.options import RetrainOptions


@hookimpl
def nasbench_register_benchmarks(register: Any) -> None:
    register("retrain", "plugins.retrain.evaluator:RetrainEvaluator",
             "train the discrete network from scratch on the search data, report test accuracy (expensive)",
             options=RetrainOptions)

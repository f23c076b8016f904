"""``python kill_at.py search|retrain -- nasbench args``: run ``nasbench`` and SIGKILL this process
mid-way, as ``kill -9`` would: during the 5th weight step of the search (epoch 2 of 3 steps
per epoch), or during the second retraining epoch (third training step after its first checkpoint)."""
from __future__ import annotations

import os
import signal
import sys
from typing import Any

from torch import nn

import plugins.retrain.evaluator as retrain
from harness.cli.main import main
from harness.engine.trainer import Trainer


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_during_search(at_step: int = 5) -> None:
    original = Trainer._weight_step
    calls = {"n": 0}

    def step(self: Trainer, x: Any, y: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == at_step:
            die()
        return original(self, x, y)

    Trainer._weight_step = step  # type: ignore[method-assign]


def kill_during_retrain(after_steps: int = 3) -> None:
    original_save, original_loss = retrain.save_checkpoint, nn.CrossEntropyLoss.forward
    steps = {"n": 0}

    def counting_loss(self: nn.CrossEntropyLoss, *args: Any) -> Any:
        steps["n"] += 1
        if steps["n"] == after_steps:
            die()
        return original_loss(self, *args)

    def save(path: Any, state: dict) -> None:
        original_save(path, state)
        nn.CrossEntropyLoss.forward = counting_loss  # type: ignore[method-assign]

    retrain.save_checkpoint = save


if __name__ == "__main__":
    where, separator, *args = sys.argv[1:]
    assert separator == "--"
    {"search": kill_during_search, "retrain": kill_during_retrain}[where]()
    sys.argv = ["nasbench", *args]
    main()

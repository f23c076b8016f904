"""The options of the retrain plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness import Options


class RetrainOptions(Options):
    protocol: Literal["auto", "nb201", "nb101"] = Field(
        "auto", description="training recipe: nb201 (SGD) or nb101 (RMSProp); auto: nb101 for NB101-cell spaces")
    epochs: int | None = Field(None, ge=1, description="training epochs; null: the protocol's (nb201 30, nb101 108)")
    lr: float | None = Field(None, gt=0, description="initial learning rate (cosine to 0); null: the protocol's")
    batch_size: int | None = Field(None, ge=1, description="training batch size; null: the protocol's")
    C: int | None = Field(None, ge=1, description="network width; null: the run's space option")
    N: int | None = Field(None, ge=0, description="cells per stage (the space checks its own range); "
                                                   "null: the run's space option")

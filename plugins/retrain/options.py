"""The options of the retrain plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from pydantic import Field

from harness import Options


class RetrainOptions(Options):
    epochs: int = Field(30, ge=1, description="training epochs of the discrete network")
    lr: float = Field(0.1, gt=0, description="initial SGD learning rate (cosine to 0)")
    batch_size: int = Field(128, ge=1, description="training batch size")
    C: int | None = Field(None, ge=1, description="network width; null: the run's space option")
    N: int | None = Field(None, ge=1, description="cells per stage; null: the run's space option")

"""The options of the darts plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness import AdamBeta, Options


class DartsOptions(Options):
    """The reference's architecture settings (quark0/darts ``train_search.py``)."""

    order: Literal[1, 2] = Field(1, description="1: first-order gradient; 2: unrolled (DARTS Eq. 7-8)")
    lr: float = Field(3e-4, gt=0, description="Adam learning rate of α")
    betas: tuple[AdamBeta, AdamBeta] = Field((0.5, 0.999), description="Adam betas of α")
    weight_decay: float = Field(1e-3, ge=0, description="Adam weight decay of α")
    init_scale: float = Field(1e-3, ge=0, description="α starts at init_scale·N(0, 1)")

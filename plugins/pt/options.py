"""The options of the pt plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness import Options


class PTOptions(Options):
    proj_intv: int = Field(5, ge=0, description="tuning epochs between two decisions")
    criterion: Literal["acc", "loss"] = Field("acc", description="how a removal's harm is measured")
    mode: Literal["perturbation", "magnitude"] = Field(
        "perturbation", description="perturbation (PT) or magnitude (PT-Mag: largest α, same tuning)")
    tune_lr_scale: float = Field(0.1, gt=0, description="tuning weight lr = tune_lr_scale × search.lr")
    eval_batches: int | None = Field(None, ge=1, description="validation batches per measurement; null: all")
    measure_on: Literal["augmented", "plain"] = Field(
        "augmented", description="augmented: the validation half shuffled, in search batches, with the training "
                                 "augmentation (darts-pt's valid_queue); plain: every image once, unaugmented")
    schedule: Literal["reference", "even"] = Field(
        "reference", description="reference: decide at tuning epochs 0, p, 2p, ... and the last at p·(D−1) − 1 "
                                 "(darts-pt: 0, 5, 10, 15, 20, 24 on NB201); even: every p epochs")

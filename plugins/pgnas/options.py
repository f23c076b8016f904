"""The options of the pgnas plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness import Options

WIDTHS = (16, 32, 64)
"""Channels of the multi-branch ResNet's three stages."""


LR_SCALE = 10.0
"""Default factor on search.lr for the drop logits (rationale in ``plugins.pgnas.optimizer``)."""


class PgnasOptions(Options):
    temperature: float = Field(0.2, gt=0, description="concrete relaxation temperature τ (Table 5's best)")
    p_init: float = Field(0.5, gt=0, lt=1, description="initial drop probability (0.5: the reference code's)")
    learn: bool = Field(True, description="false freezes p at p_init (Table 3's predefined dropout)")
    lr_scale: float = Field(LR_SCALE, gt=0, description="learning rate of the drop logits θ as a multiple of "
                            "search.lr (same cosine schedule); see the optimizer's docstring for the default")
    length_scale: float | None = Field(None, gt=0, description="l of the weight prior; null: from prior_weight_decay")
    prior_weight_decay: float = Field(3e-4, gt=0, description="weight decay the prior acts like at initialization")
    data_size: int | None = Field(None, ge=1, description="N of the KL; null: the search-train half's size")
    per_example: bool = Field(True, description="one gate sample per example (as dropout) or per batch")
    channel_gates: bool = Field(False, description="per-input-channel gates in a cell space's convs (not implemented)")


class PosteriorOptions(Options):
    candidates: int = Field(1500, ge=1, description="architecture-weight pairs drawn (the paper's CIFAR setting)")
    eval_batches: int | None = Field(None, ge=1, description="validation batches per candidate; null: all")
    cell_rule: Literal["keep_probability", "held_out"] = Field(
        "keep_probability", description="cell from the best gate pattern (cell spaces): per edge the kept op with "
        "the largest keep probability, or the kept op whose pattern with only it on that edge scores best on "
        "held-out data (greedy, edge by edge)")
    bn_train: bool = Field(False, description="BatchNorm on batch statistics (true) or on the running "
                           "statistics of supernet training (false, the paper's) while scoring candidates")


class ResNetSpaceOptions(Options):
    C: int = Field(WIDTHS[0], description=f"fixed at {WIDTHS[0]} (the space's shape is fixed)")
    N: int = Field(1, description="fixed at 1 (one block per stage)")

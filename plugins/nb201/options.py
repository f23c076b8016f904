"""The options of the nb201 plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness import Options


class NB201Options(Options):
    C: int = Field(16, ge=1, description="channels of the first stage (NB201: 16)")
    N: int = Field(5, ge=1, description="cells per stage (NB201: 5)")
    track_running_stats: bool = Field(True, description="BatchNorm keeps running statistics")
    affine: bool | None = Field(None, description="BatchNorm affine; null: off in the supernet, on in networks")
    cell: Literal["fused", "per_op"] = Field(
        "fused", description="supernet cell: fused (ops reading one node share one conv/BN call) or per_op")

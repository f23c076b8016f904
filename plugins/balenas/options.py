"""The options of the balenas plugin's components, apart from their torch-heavy modules.

Registration hands these models to the registry, so ``nasbench list`` shows every option
without importing torch.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from harness import AdamBeta, Options

REFERENCE_DATA_SIZE = 25_000
"""``train_set_size`` of BaLeNAS's VAdam: CIFAR-10's search half."""

SecondMoment = Literal["mean_of_squares", "square_of_mean"]
DrawGradients = Literal["separate", "cumulative"]


class BalenasOptions(Options):
    samples: int = Field(3, ge=1, description="Monte-Carlo draws M of α per architecture step")
    prior_precision: float = Field(1.0, gt=0, description="prior precision δ of N(0, 1/δ)")
    init_precision: float = Field(1.0, gt=0, description="initial precision of q(α) (σ₀ = 1/√init_precision)")
    data_size: int | None = Field(
        REFERENCE_DATA_SIZE, ge=1,
        description="N of VAdam, fixed on every dataset as in the reference; null: the search-validation half's size")
    second_moment: SecondMoment = Field(
        "mean_of_squares", description="precision input: mean_of_squares = mean_m g_m² (VAdam code, reference); "
                                       "square_of_mean = (mean_m g_m)² (BaLeNAS Eq. 15/18 as printed)")
    draw_gradients: DrawGradients = Field(
        "separate", description="separate: g_m at each draw (VAdam); cumulative: g_1+…+g_m, as BaLeNAS's closure "
                                "leaves α.grad accumulating between draws")
    lr: float = Field(3e-4, gt=0, description="VAdam learning rate of μ")
    betas: tuple[AdamBeta, AdamBeta] = Field((0.5, 0.999), description="VAdam betas (as DARTS' Adam)")
    order: Literal[1, 2] = Field(1, description="1: first-order gradient; 2: unrolled")
    init_scale: float = Field(1e-3, ge=0, description="μ starts at init_scale·N(0, 1), as DARTS' α")


class ProxySelectorOptions(Options):
    k: int = Field(100, ge=1, description="candidates drawn (BaLeNAS-TF: 100)")
    proxy: str = Field("synflow", description="a registered proxy (nasbench list proxy)")
    source: Literal["posterior", "uniform"] = Field(
        "posterior", description="posterior: argmax of α drawn from the optimizer; uniform: random architectures")
    batch_size: int = Field(64, ge=1, description="images in the proxy's one batch")

    @field_validator("proxy")
    @classmethod
    def _registered(cls, name: str, info: ValidationInfo) -> str:
        """Checked with the config (which passes the plugins), so a misspelled proxy stops the run
        before its search, not after it."""
        plugins = (info.context or {}).get("plugins")
        if plugins is not None and name not in plugins["proxy"]:
            known = ", ".join(sorted(entry.name for entry in plugins["proxy"].entries()))
            raise ValueError(f"unknown proxy '{name}'; known: {known}")
        return name

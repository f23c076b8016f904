"""The options of the darts_space plugin's components, apart from their torch-heavy modules
(registration hands them to the registry, so ``nasbench list`` shows them without torch)."""
from __future__ import annotations

from pydantic import Field

from harness import Options


class DartsSpaceOptions(Options):
    C: int = Field(16, ge=2, description="initial channels (DARTS search: 16; evaluation: 36)")
    N: int = Field(2, ge=0, description="normal cells per stage; the network has 3N+2 cells (search: 2 → 8 cells)")


class DartsRetrainOptions(Options):
    epochs: int = Field(600, ge=1, description="training epochs")
    batch_size: int = Field(96, ge=1, description="training batch size")
    lr: float = Field(0.025, gt=0, description="initial SGD learning rate (cosine to 0 per epoch)")
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    weight_decay: float = Field(3e-4, ge=0, description="SGD weight decay")
    grad_clip: float = Field(5.0, gt=0, description="gradient norm clip")
    C: int = Field(36, ge=2, description="initial channels of the evaluation network")
    N: int = Field(6, ge=0, description="normal cells per stage (3N+2 cells; 6 → 20)")
    auxiliary_weight: float = Field(0.4, ge=0, description="weight of the auxiliary head's loss; 0: no head")
    drop_path_prob: float = Field(0.2, ge=0, lt=1, description="final drop-path probability (raised linearly)")
    cutout: int = Field(16, ge=0, description="cutout square side in pixels; 0: no cutout")

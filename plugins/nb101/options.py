"""The nb101 space's network options, apart from the torch-heavy modules (so ``nasbench list``
shows them without importing torch)."""
from __future__ import annotations

from pydantic import Field

from harness import Options


class NB101NetworkOptions(Options):
    stem_channels: int = Field(128, ge=1, description="output channels of the stem (NB101: 128)")
    stacks: int = Field(3, ge=1, description="stacks of cells, max-pool in between (NB101: 3)")
    cells_per_stack: int = Field(3, ge=1, description="cells per stack (NB101: 3)")

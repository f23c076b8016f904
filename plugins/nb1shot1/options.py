"""The NAS-Bench-1Shot1 spaces' options, apart from the torch-heavy modules."""
from __future__ import annotations

from pydantic import Field

from plugins.nb101.options import NB101NetworkOptions


class NB1Shot1Options(NB101NetworkOptions):
    """Supernet size (the reference's ``train_search.py``) and the stand-alone NB101 network's size."""

    C: int = Field(16, ge=1, description="supernet channels of the first stage (NB1Shot1: 16)")
    N: int = Field(3, ge=1, description="supernet cells per stage, 3 stages (NB1Shot1: 3, i.e. 9 cells)")

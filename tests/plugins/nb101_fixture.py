"""NASLib's 30-cell NB101 test pickle (shared reference data), loaded once for the NB101 tests."""
from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from paths import SHARED_DATA

DUMMY_PICKLE = SHARED_DATA / "nb101" / "nb101_dummy.pkl"
ZC_JSON = SHARED_DATA / "nb101" / "zc_nasbench101.json"


def dummy_path() -> Path:
    if not DUMMY_PICKLE.exists():
        pytest.skip(f"shared NB101 fixture not found at {DUMMY_PICKLE}")
    return DUMMY_PICKLE


@lru_cache(maxsize=1)
def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as stream:
        return pickle.load(stream)


def dummy_cells() -> dict[str, Any]:
    """``{hash: (fixed statistics, {108: [3 runs]})}`` as NASLib stores it."""
    return _load(dummy_path())

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


def run_on_nb1shot1(tmp_path: Path, method: str, space: str, *settings: str) -> tuple[dict[str, Any], Path]:
    """``nasbench run -m METHOD --space SPACE`` on the synthetic set with the fixture's NB101 file,
    tiny settings plus ``settings`` (``--set`` pairs); returns the record and its run folder."""
    import json

    from click.testing import CliRunner

    from harness.cli.main import build_cli

    args = ["run", "--method", method, "--space", space, "--dataset", "synthetic", "--epochs", "1",
            "--benchmark", "nb101", "--benchmark-file", str(dummy_path()), "--results", str(tmp_path),
            "--set", "search.batch_size=32"]
    for setting in settings:
        args += ["--set", setting]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    (record_path,) = tmp_path.rglob("record.json")
    return json.loads(record_path.read_text()), record_path.parent

"""Shared test setup: one CPU thread (CI has two cores), and small hand-made run contexts."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from paths import SHARED_DATA

torch.set_num_threads(1)

NB201_TABLE = SHARED_DATA / "nb201" / "nb201_merged_final_accuracies.csv"


@pytest.fixture
def nb201_table() -> Path:
    if not NB201_TABLE.exists():
        pytest.skip(f"shared NB201 table not found at {NB201_TABLE}")
    return NB201_TABLE


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path_factory, monkeypatch):
    """Keep tests away from the user's imported benchmark files and caches."""
    home = tmp_path_factory.mktemp("nasbench-home")
    monkeypatch.setenv("NASBENCH_HOME", str(home))
    monkeypatch.setenv("NASBENCH_CACHE", str(home / "cache"))
    monkeypatch.delenv("NASBENCH_NB201_FILE", raising=False)
    monkeypatch.delenv("NASBENCH_DISABLE_THIRD_PARTY", raising=False)


@pytest.fixture(autouse=True)
def seeds_one_after_another(monkeypatch):
    """``--workers auto`` would run a test's seeds in spawned processes on a multi-core machine, where
    its monkeypatches do not reach; tests that mean to run side by side ask for ``workers="2"``."""
    import harness.experiment.seed_workers as seed_workers

    monkeypatch.setattr(seed_workers, "usable_cores", lambda: 1)

"""Run folders on disk: atomic writes, the record format, checkpoints (reading many back: ``records``).

Layout: ``RESULTS/<method>/<space>-<dataset>/<config hash>/seed-<k>/`` holding
``config.json`` (resolved config), ``trajectory.csv`` (one row per epoch),
``selection.csv`` (one row per selector decision, when the selector records any),
``record.json`` (the final record) and ``checkpoint.pt`` (while the run is unfinished).

``record.json`` keys: ``status`` ("finished" or "failed"), ``failure`` (reason or
null), ``method``, ``label`` (the table row), ``space``, ``dataset``, ``seed``, ``config_hash``, ``arch`` (string),
``arch_index``, ``metrics`` ({"<dataset>/<split>_<metric>": value} from every
benchmark, plus ``<dataset>/supernet_valid_acc`` from the search itself),
``metric_sources`` ({metric: benchmark or "search"}), ``skip_connect``, ``epochs``,
``search_seconds``, ``selection_seconds``, ``images_per_second``, ``device``,
``peak_memory_mb``, ``optimizer`` (final summary, e.g. σ statistics), ``selection``
(selector details), ``versions``, ``finished_at``.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

RECORD = "record.json"
CONFIG = "config.json"
TRAJECTORY = "trajectory.csv"
SELECTION = "selection.csv"
CHECKPOINT = "checkpoint.pt"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n").encode())


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_bytes(path, pd.DataFrame(rows).to_csv(index=False).encode())


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch  # only runs checkpoint; reading records must not import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The run's own checkpoint (written by this harness, so full unpickling is trusted)."""
    if not path.exists():
        return None
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


def run_dir(root: Path, method: str, space: str, dataset: str, config_hash: str, seed: int) -> Path:
    return root / method / f"{space}-{dataset}" / config_hash / f"seed-{seed}"


def read_record(folder: Path) -> dict[str, Any] | None:
    path = folder / RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text())

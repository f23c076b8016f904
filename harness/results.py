"""Run folders on disk: atomic writes, the record format, and loading records back.

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
import torch

from harness.errors import UserError

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
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The run's own checkpoint (written by this harness, so full unpickling is trusted)."""
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def run_dir(root: Path, method: str, space: str, dataset: str, config_hash: str, seed: int) -> Path:
    return root / method / f"{space}-{dataset}" / config_hash / f"seed-{seed}"


def read_record(folder: Path) -> dict[str, Any] | None:
    path = folder / RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text())


def record_paths(root: Path) -> list[Path]:
    """Every ``record.json`` under ``root`` (a results folder, or one run folder)."""
    if not root.exists():
        raise UserError(f"results folder {root} does not exist; run `nasbench run ...` first or pass the right path")
    return sorted(root.rglob(RECORD))


def load_records(root: Path, include_failed: bool = False) -> pd.DataFrame:
    """One row per run: identifying columns, scalar fields and every metric as a column."""
    rows = []
    for path in record_paths(root):
        record = json.loads(path.read_text())
        if record.get("status") != "finished" and not include_failed:
            continue
        row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
        row.update(record.get("metrics", {}))
        row.update({f"optimizer/{k}": v for k, v in record.get("optimizer", {}).items()
                    if isinstance(v, (int, float))})
        row["path"] = str(path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


def load_trajectories(root: Path) -> pd.DataFrame:
    """All epochs of all runs under ``root``, with method/space/dataset/seed columns added."""
    frames = []
    for path in record_paths(root):
        record = json.loads(path.read_text())
        trajectory = path.parent / TRAJECTORY
        if not trajectory.exists() or trajectory.stat().st_size == 0:
            continue
        frame = pd.read_csv(trajectory)
        for key in ("method", "space", "dataset", "seed", "status"):
            frame[key] = record.get(key)
        frame["label"] = record.get("label") or record.get("method")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

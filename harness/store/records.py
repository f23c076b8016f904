"""Reading run folders back as tables: one row per run, or one row per epoch of every run."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.api.errors import UserError
from harness.store.run_folder import RECORD, TRAJECTORY


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

"""Synthetic run folders in the real record format, for report and suite tests."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.store.run_folder import CONFIG, RECORD, TRAJECTORY, run_dir, write_csv, write_json


def write_run(root: Path, label: str, seed: int, metrics: dict[str, float], method: str | None = None,
              status: str = "finished", space: str = "nb201", dataset: str = "cifar10",
              trajectory: list[dict[str, Any]] | None = None, config: dict[str, Any] | None = None,
              **fields: Any) -> Path:
    """One synthetic run folder in the harness layout (record.json, optional trajectory.csv and config.json)."""
    method = method or label
    folder = run_dir(root, method, space, dataset, fields.get("config_hash", f"cfg-{label}"), seed)
    record = {"status": status, "failure": None if status == "finished" else "diverged: loss is NaN",
              "method": method, "label": label, "space": space, "dataset": dataset, "seed": seed,
              "config_hash": f"cfg-{label}", "metrics": metrics if status == "finished" else {},
              "search_seconds": 100.0 + seed, "images_per_second": 2000.0, "optimizer": {}}
    record.update(fields)
    write_json(folder / RECORD, record)
    if trajectory is not None:
        write_csv(folder / TRAJECTORY, trajectory)
    if config is not None:
        write_json(folder / CONFIG, config)
    return folder

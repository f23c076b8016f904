"""The settings a baseline's runs were made with, so that the gate compares like with like.

A regression gate that compares results made with other settings (another number of
epochs, another space size) reports their differences as regressions, or as CHANGED
seeds in its exact check, when nothing regressed. ``nasbench table --format baseline
--output F.csv`` records each label's resolved config in ``F.settings.json``;
``nasbench regress`` fails a label whose current runs were made with other settings, and
says which. Keys that name the machine rather than the experiment (the seed, the device,
the thread count, data and benchmark file paths) are left out, so a baseline made on one
machine gates runs on another.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.api.errors import UserError
from harness.api.loggers import flat_items
from harness.report.environment import REMAKE, read_sidecar
from harness.store.records import record_paths
from harness.store.run_folder import CONFIG, CorruptFile, atomic_write_bytes, check_record

NOT_SETTINGS = frozenset({"seed", "device", "threads", "label"})
"""Top-level config keys that are not part of what an experiment is."""
PATH_LEAVES = frozenset({"data_dir", "file"})
"""Leaf names that hold paths on one machine (``dataset.data_dir``, ``benchmarks.options.nb201.file``)."""
MIXED = "mixed"


def settings_path(baseline: Path) -> Path:
    """``ci-regression.csv`` → ``ci-regression.settings.json`` next to it."""
    return baseline.with_name(f"{baseline.stem}.settings.json")


def run_settings(config: dict[str, Any]) -> dict[str, str]:
    """A run's config as ``{"search.epochs": "3", ...}`` (values as JSON), without machine keys."""
    return {key: json.dumps(value, sort_keys=True) for key, value in sorted(flat_items(config).items())
            if key.split(".")[0] not in NOT_SETTINGS and key.split(".")[-1] not in PATH_LEAVES}


def results_settings(root: Path) -> dict[str, dict[str, str] | str]:
    """Per label, the settings of its finished runs under ``root``; ``"mixed"`` when its runs disagree.

    Runs without a readable ``config.json`` (or record) are left out: the reports name them.
    """
    found: dict[str, list[dict[str, str]]] = {}
    for path in record_paths(root):
        try:
            record = check_record(json.loads(path.read_text()), path, "")
            config = json.loads((path.parent / CONFIG).read_text())
        except (OSError, ValueError, CorruptFile):
            continue
        if record["status"] != "finished" or not isinstance(config, dict):
            continue
        settings = run_settings(config)
        seen = found.setdefault(str(record["label"]), [])
        if settings not in seen:
            seen.append(settings)
    return {label: runs[0] if len(runs) == 1 else MIXED for label, runs in sorted(found.items())}


def write_settings(baseline: Path, settings: dict[str, dict[str, str] | str]) -> Path:
    path = settings_path(baseline)
    atomic_write_bytes(path, (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_settings(baseline: Path) -> dict[str, dict[str, str] | str] | None:
    """The baseline's recorded settings per label, or None when it has none."""
    path = settings_path(baseline)
    loaded = read_sidecar(path)
    if loaded is None:
        return None
    if not all(isinstance(value, dict) or value == MIXED for value in loaded.values()):
        raise UserError(f"{path} must hold, per label, its settings or \"{MIXED}\"; {REMAKE}")
    return {str(label): value if value == MIXED else {str(k): str(v) for k, v in value.items()}
            for label, value in loaded.items()}


def settings_changes(baseline: dict[str, dict[str, str] | str], current: dict[str, dict[str, str] | str]
                     ) -> dict[str, list[str]]:
    """Per label that has runs on both sides, what its current settings change (labels with none left out)."""
    changes = {label: settings_differences(baseline[label], current[label]) for label in baseline if label in current}
    return {label: found for label, found in changes.items() if found}


def settings_differences(baseline: dict[str, str] | str, current: dict[str, str] | str) -> list[str]:
    """What differs between a label's baseline and current settings, as ``key now (baseline then)``."""
    if isinstance(baseline, str) or isinstance(current, str):  # MIXED
        return [] if baseline == current else [f"the {'baseline' if baseline == MIXED else 'current'} runs of "
                                               "this label were made with more than one set of settings"]
    absent = "(not set)"
    return [f"{key} {current.get(key, absent)} (baseline {baseline.get(key, absent)})"
            for key in sorted(set(baseline) | set(current)) if baseline.get(key) != current.get(key)]

"""The environment runs were made in, so a baseline can be reproduced exactly where it was made.

A seeded run reproduces its numbers bit for bit when torch and numpy, the Python minor
version, the device, the CPU kernel set torch dispatches to (``cpu_capability``), the
thread count and whether its seed trained alone or stacked with others (``stacking``: the
stacked convolutions round differently) are the same. Then any difference from the baseline is a change in the code,
even one that shifts every method alike, which the statistical gate cannot see. A baseline
written by ``nasbench table --format baseline --output F.csv`` records its environment in
``F.environment.json``; ``nasbench regress`` compares per seed, exactly, when the current
results were made in that environment.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.api.errors import UserError
from harness.store.records import record_paths
from harness.store.run_folder import CorruptFile, atomic_write_bytes, check_record

ENVIRONMENT_KEYS = ("torch", "numpy", "python", "device", "cpu_capability", "threads", "stacking")
UNKNOWN = "unknown"
BEFORE_KEY = {"stacking": "alone"}
"""What a baseline written before a key existed was made with (seeds ran alone before stacking existed)."""


def environment_path(baseline: Path) -> Path:
    """``ci-regression.csv`` → ``ci-regression.environment.json`` next to it."""
    return baseline.with_name(f"{baseline.stem}.environment.json")


def run_environment(record: dict[str, Any]) -> dict[str, str]:
    """The environment one ``record.json`` was made in (``unknown`` where it does not say)."""
    versions = record.get("versions") or {}
    python = str(versions.get("python", UNKNOWN))
    return {
        "torch": str(versions.get("torch", UNKNOWN)),
        "numpy": str(versions.get("numpy", UNKNOWN)),
        "python": ".".join(python.split(".")[:2]),
        "device": str(record.get("device", UNKNOWN)),
        "cpu_capability": str(versions.get("cpu_capability", UNKNOWN)),
        "threads": str(versions.get("threads", UNKNOWN)),
        "stacking": "stacked" if int(record.get("stacked_seeds") or 1) > 1 else "alone",
    }


def results_environment(root: Path) -> dict[str, str]:
    """The environment of the finished runs under ``root``; a key on which they disagree reads
    ``mixed: a, b``, every key ``unknown`` when none finished."""
    environments = [run_environment(record) for _, record in finished_records(root)]
    if not environments:
        return dict.fromkeys(ENVIRONMENT_KEYS, UNKNOWN)
    merged = {}
    for key in ENVIRONMENT_KEYS:
        values = sorted({environment[key] for environment in environments})
        merged[key] = values[0] if len(values) == 1 else "mixed: " + ", ".join(values)
    return merged


def finished_records(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, record) of the finished runs under ``root``; damaged ones are skipped here (the
    reports name them)."""
    for path in record_paths(root):
        try:
            record = check_record(json.loads(path.read_text()), path, "")
        except (OSError, ValueError, CorruptFile):
            continue
        if record["status"] == "finished":
            yield path, record


def write_environment(baseline: Path, environment: dict[str, str]) -> Path:
    path = environment_path(baseline)
    atomic_write_bytes(path, (json.dumps(environment, indent=2) + "\n").encode())
    return path


REMAKE = "remake the baseline with `nasbench table RESULTS --format baseline --output FILE`"


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """A JSON object a baseline keeps next to its CSV, None when absent; unreadable or not an
    object is one line."""
    if not path.exists():
        return None
    try:
        loaded = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}); {REMAKE}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); {REMAKE}") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{path} must hold one JSON object; {REMAKE}")
    return loaded


def read_environment(baseline: Path) -> dict[str, str] | None:
    """The baseline's recorded environment, or None when it has none."""
    loaded = read_sidecar(environment_path(baseline))
    return None if loaded is None else {str(key): str(value) for key, value in loaded.items()}


def differences(baseline: dict[str, str], current: dict[str, str]) -> list[str]:
    """Why the two environments cannot reproduce each other's numbers (empty when they can)."""
    found = []
    for key in ENVIRONMENT_KEYS:
        old, new = baseline.get(key, BEFORE_KEY.get(key, UNKNOWN)), current.get(key, UNKNOWN)
        if old == new and old.startswith("mixed"):
            found.append(f"{key} is {old} in both, so a seed need not match its baseline seed exactly")
        elif old != new or old == UNKNOWN or old.startswith("mixed"):
            found.append(f"{key} {new} (baseline {old})")
    return found

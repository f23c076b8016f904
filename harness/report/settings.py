"""The settings a baseline's runs were made with, so that the gate compares like with like.

A regression gate that compares results made with other settings (another number of
epochs, another space size) reports their differences as regressions, or as CHANGED
seeds in its exact check, when nothing regressed. ``nasbench table --format baseline
--output F.csv`` records the resolved config of each of its keys (label, method, space,
dataset) in ``F.settings.json``; ``nasbench regress`` fails a key whose current runs were
made with other settings, and says which. Keys that name the machine rather than the
experiment (the seed, the device, the thread count, data and benchmark file paths) are
left out, so a baseline made on one machine gates runs on another.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.api.errors import UserError
from harness.api.loggers import flat_items
from harness.plugin.manager import get_plugins
from harness.report.environment import REMAKE, finished_records, read_sidecar
from harness.store.run_folder import CONFIG, atomic_write_bytes

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


def settings_difference(folders: list[Path]) -> str | None:
    """``"search.epochs 2 / 3"``: the settings in which these run folders' configs differ (a few of
    them), None when a config is unreadable."""
    flat, defaults = [], benchmark_option_defaults()
    for folder in folders:
        try:
            config = json.loads((folder / CONFIG).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict):
            return None
        flat.append(without_defaults(run_settings(config), defaults))
    keys = sorted({key for settings in flat for key in settings
                   if len({settings.get(key, "(not set)") for settings in flat}) > 1})
    shown = [f"{key} {' / '.join(settings.get(key, '(not set)') for settings in flat)}" for key in keys[:3]]
    return "; ".join(shown) + (f"; and {len(keys) - 3} more" if len(keys) > 3 else "") if keys else None


def settings_key(label: str, method: str, space: str, dataset: str) -> str:
    """How a baseline row's runs are named in the settings file: the baseline CSV's key columns."""
    return f"{label} [{method}, {space}-{dataset}]"


def results_settings(root: Path, notes: list[str] | None = None) -> dict[str, dict[str, str] | str]:
    """Per baseline key (label, method, space, dataset), the settings of its finished runs under
    ``root``; ``"mixed"`` when its runs disagree.

    Runs without a readable record are left out (the reports name them); those without a readable
    ``config.json`` too, each with a line in ``notes``.
    """
    found: dict[str, list[dict[str, str]]] = {}
    for path, record in finished_records(root):
        config_path = path.parent / CONFIG
        try:
            config = json.loads(config_path.read_text())
        except (OSError, ValueError):
            config = None
        if not isinstance(config, dict):
            if notes is not None:
                notes.append(f"{config_path} is missing or damaged, so the settings of this run are not checked")
            continue
        settings = run_settings(config)
        key = settings_key(*(str(record[field]) for field in ("label", "method", "space", "dataset")))
        seen = found.setdefault(key, [])
        if settings not in seen:
            seen.append(settings)
    return {key: runs[0] if len(runs) == 1 else MIXED for key, runs in sorted(found.items())}


def check_one_setting_each(settings: dict[str, dict[str, str] | str], root: Path) -> None:
    """A baseline needs one set of settings per key: mixed runs would repeat seeds or average unlike runs."""
    mixed = [key for key, value in settings.items() if value == MIXED]
    if mixed:
        raise UserError(f"cannot make a baseline from {root}: the runs of {', '.join(mixed)} were made with more than "
                        "one set of settings; pass a results folder that holds one configuration per label")


def write_settings(baseline: Path, settings: dict[str, dict[str, str] | str]) -> Path:
    path = settings_path(baseline)
    atomic_write_bytes(path, (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_settings(baseline: Path) -> dict[str, dict[str, str] | str] | None:
    """The baseline's recorded settings per key (``settings_key``), or None when it has none."""
    path = settings_path(baseline)
    loaded = read_sidecar(path)
    if loaded is None:
        return None
    if not all(isinstance(value, dict) or value == MIXED for value in loaded.values()):
        raise UserError(f"{path} must hold, per label and dataset, its settings or \"{MIXED}\"; {REMAKE}")
    return {str(label): value if value == MIXED else {str(k): str(v) for k, v in value.items()}
            for label, value in loaded.items()}


def settings_changes(baseline: dict[str, dict[str, str] | str], current: dict[str, dict[str, str] | str]
                     ) -> dict[str, list[str]]:
    """Per key with runs on both sides, what its current settings change (keys with no change left out)."""
    defaults = benchmark_option_defaults()
    changes = {key: settings_differences(*(without_defaults(side, defaults) if isinstance(side, dict) else side
                                           for side in (baseline[key], current[key])))
               for key in baseline if key in current}
    return {key: found for key, found in changes.items() if found}


def without_defaults(settings: dict[str, str], defaults: dict[str, str]) -> dict[str, str]:
    """``settings`` less the benchmark options at their declared defaults: a run's config holds a
    benchmark's options only when one of them was given (``--benchmark-file`` fills in the others),
    so a default written on one side only is no difference. ``defaults``: ``benchmark_option_defaults()``."""
    return {key: value for key, value in settings.items() if defaults.get(key) != value}


def benchmark_option_defaults() -> dict[str, str]:
    """``{"benchmarks.options.nb201.trust": "false", ...}``: every registered benchmark option's default,
    as ``run_settings`` writes values."""
    defaults = {}
    for entry in get_plugins()["benchmark"].entries():
        model = entry.listed_options
        for name, field in (model.model_fields.items() if model is not None else []):
            if not field.is_required():
                default = field.get_default(call_default_factory=True)
                defaults[f"benchmarks.options.{entry.name}.{name}"] = json.dumps(default, sort_keys=True, default=str)
    return defaults


def settings_differences(baseline: dict[str, str] | str, current: dict[str, str] | str) -> list[str]:
    """What differs between a label's baseline and current settings, as ``key now (baseline then)``."""
    if isinstance(baseline, str) or isinstance(current, str):  # MIXED: no one set of settings to compare
        return [f"the {side} runs were made with more than one set of settings"
                for side, value in (("baseline", baseline), ("current", current)) if value == MIXED]
    absent = "(not set)"
    return [f"{key} {current.get(key, absent)} (baseline {baseline.get(key, absent)})"
            for key in sorted(set(baseline) | set(current)) if baseline.get(key) != current.get(key)]


def unchecked_settings(baseline_rows: pd.DataFrame, recorded: dict[str, dict[str, str] | str] | None,
                       path: Path) -> list[str]:
    """Notes on what the settings check cannot see: no settings file, or baseline rows it holds none for."""
    if recorded is None:
        return [f"the baseline records no settings ({path} is missing), so runs made with other settings read as "
                "regressions; remake it to record them"]
    keys = {settings_key(*row) for row in baseline_rows[["label", "method", "space", "dataset"]].itertuples(
        index=False, name=None)}
    stray = sorted(key for key in recorded if key not in keys)
    if stray:
        raise UserError(f"{path} lists {', '.join(stray)}, which the baseline CSV has no rows for: one of the two "
                        f"is cut or damaged; {REMAKE}")
    return [f"{key}: the baseline records no settings for it in {path}, so they are not checked"
            for key in sorted(keys) if key not in recorded]

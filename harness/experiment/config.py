"""The resolved run configuration: harness defaults < dataset profile < method < user.

The dataset profile comes from the dataset plugin (``Dataset.profile`` and
``Dataset.max_epochs``), so no dataset is special-cased here.

A config is a plain nested dict (it is written to ``config.json`` as is). Sections:
``space``, ``dataset``, ``optimizer``, ``selector``, ``benchmarks``, ``search``, plus
``method``, ``label`` (the row name in tables, default the method, ``method+selector`` with another
selector), ``threads`` (CPU
threads for torch, null = torch's default), ``seed`` and ``device``. Users change any leaf with ``--set a.b=value``;
the result is checked against the harness's schema (``schema.py``) before any work.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.api.errors import UserError
from harness.api.methods import Method
from harness.experiment.schema import FIX_SETTINGS, check_settings

DEFAULTS: dict[str, Any] = {
    "space": {"name": "nb201", "options": {}},
    "dataset": {"name": "digits", "data_dir": None},
    "optimizer": {"name": None, "options": {}},
    "selector": {"name": None, "options": {}},
    "benchmarks": {"names": ["nb201"], "options": {}},
    "search": {
        "epochs": 50,
        "batch_size": 64,
        "lr": 0.025,
        "lr_min": 0.001,
        "momentum": 0.9,
        "weight_decay": 3e-4,
        "grad_clip": 5.0,
        "eval_batch_size": 512,
        "eval_batches": None,
        "max_steps_per_epoch": None,
        "amp": False,
        "channels_last": False,
        "compile": None,
        "compile_mode": None,
        "cuda_graphs": False,
        "cudnn_benchmark": False,
    },
}



@dataclass(frozen=True)
class DatasetProfile:
    """What a dataset asks of the config: a partial config and a cap on the method's epochs."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    max_epochs: int | None = None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: dicts merge key by key, anything else replaces."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_value(text: str) -> Any:
    """``--set`` values: JSON when it parses (numbers, true, null, lists), else a string.

    A flat list of bare words, ``[cpu,cpu]`` or ``[nb201, nb101]``, is what people type at a
    shell (the quotes JSON wants are eaten by it): its items are parsed one by one.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else None
    if inner is None or any(bracket in inner for bracket in "[]{}"):
        return text
    return [parse_value(item.strip()) for item in inner.split(",")]


def parse_assignment(assignment: str, flag: str = "--set", example: str = "search.epochs=5") -> dict[str, Any]:
    """``"optimizer.options.samples=3"`` → ``{"optimizer": {"options": {"samples": 3}}}``."""
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise UserError(f"{flag} expects KEY=VALUE (e.g. {example}), got '{assignment}'")
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = parse_value(value.strip())
    return nested


SET_BY_FLAGS = {"method": ("--method", "methods"), "seed": ("--seeds", "seeds"), "device": ("--device", "device")}
"""Settings each run takes from its command (flag, suite key), never from ``--set``, which they would override."""


def check_sections(user: dict[str, Any]) -> None:
    """A section given as a plain value (``--set search=5``) is one line, before anything reads it."""
    for key, (flag, suite_key) in SET_BY_FLAGS.items():
        if key in user:
            raise UserError(f"'{key}' is not a --set setting: use {flag} (in a suite file: {suite_key} = ...)")
    for section, default in DEFAULTS.items():
        if section in user and isinstance(default, dict) and not isinstance(user[section], dict):
            raise UserError(f"setting '{section}' must be a table of settings (e.g. --set {section}."
                            f"{next(iter(default))}=...), got {user[section]!r}")


def default_dataset() -> str:
    return str(DEFAULTS["dataset"]["name"])


def resolve(method: Method, dataset: str | None, user: dict[str, Any],
            profile: DatasetProfile | None = None) -> dict[str, Any]:
    """The full config of ``method`` on ``dataset`` (whose plugin gave ``profile``) with the user's overrides."""
    profile = profile or DatasetProfile()
    check_sections(user)
    config = copy.deepcopy(DEFAULTS)
    dataset_name = dataset or default_dataset()
    check_plugin_settings(profile.settings, f"the profile of dataset {dataset_name}")
    check_plugin_settings(method.defaults, f"the defaults of method {method.name}")
    config = merge(config, dict(profile.settings))
    config = merge(config, {"optimizer": {"name": method.optimizer}, "selector": {"name": method.selector}})
    config = merge(config, method.defaults)
    if profile.max_epochs is not None:
        config["search"]["epochs"] = min(config["search"]["epochs"], profile.max_epochs)
    if user.get("selector", {}).get("name") not in (None, method.selector):
        config["selector"]["options"] = {}
    config = merge(config, user)
    if method.defaults.get("search", {}).get("epochs") == 0:
        config["search"]["epochs"] = 0  # methods that search nothing (random, zero-cost) stay that way in suites
    config["dataset"]["name"] = dataset_name
    config["method"] = method.name
    selector = config["selector"]["name"]  # another selector is another row: darts+pt, not a second 'darts'
    config.setdefault("label", method.name if selector == method.selector else f"{method.name}+{selector}")
    return check_settings(config)


def check_plugin_settings(settings: Mapping[str, Any], what: str) -> None:
    """A plugin's own settings (a method's defaults, a dataset's profile) checked alone, so that their
    mistake names the plugin instead of the user's flags."""
    try:
        check_settings(merge({**copy.deepcopy(DEFAULTS), "method": "-", "label": "-"}, dict(settings)))
    except UserError as exc:
        problem = exc.message.removesuffix(f"; {FIX_SETTINGS}")
        raise UserError(f"{what}: {problem}; the plugin that provides it is wrong, not the settings") from None


def config_hash(config: dict[str, Any]) -> str:
    """A short hash of everything but the seed and device: runs that share it are seeds of one experiment."""
    return _short_hash({k: v for k, v in config.items() if k not in ("seed", "device")})


SELECTION_ONLY = ("seed", "device", "method", "label", "selector")
"""Config sections that do not change the trained supernet (a method is only a preset of the others)."""


def search_key(config: dict[str, Any]) -> str:
    """A short hash of what decides the trained supernet: runs that share it and a seed train the same one."""
    return _short_hash({k: v for k, v in config.items() if k not in SELECTION_ONLY})


def _short_hash(keyed: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()[:8]

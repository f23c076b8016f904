"""A run's config resolved and checked against the plugins before any work starts.

Every name must be registered and every component's ``options`` must satisfy the model
it declares; the validated options (defaults filled in) replace the given ones, so each
run's ``config.json`` states every setting it used.
"""
from __future__ import annotations

from typing import Any

from harness.api.errors import UserError
from harness.api.options import Options, parse_options
from harness.experiment.config import DatasetProfile, check_sections, default_dataset, resolve
from harness.plugin.manager import Plugins


def dataset_profile(plugins: Plugins, dataset: str) -> DatasetProfile:
    """What the dataset plugin asks of the config (its ``profile`` and ``max_epochs``)."""
    source = plugins["dataset"].create(dataset)
    return DatasetProfile(dict(source.profile), source.max_epochs)


def resolve_config(plugins: Plugins, method: str, dataset: str | None, user: dict[str, Any]) -> dict[str, Any]:
    """The checked config of ``method`` on ``dataset`` with the user's overrides."""
    check_sections(user)
    name = dataset or user.get("dataset", {}).get("name") or default_dataset()
    preset = plugins["method"].create(method)
    profile = dataset_profile(plugins, name)
    config = resolve(preset, name, user, profile)
    _drop_undeclared_profile_options(plugins, config, profile, preset.defaults, user)
    validate_components(plugins, config)
    return config


def _space_options(partial: Any) -> set[str]:
    options = partial.get("space", {}).get("options", {}) if isinstance(partial, dict) else {}
    return set(options) if isinstance(options, dict) else set()


def _drop_undeclared_profile_options(plugins: Plugins, config: dict[str, Any], profile: DatasetProfile,
                                     method_defaults: dict[str, Any], user: dict[str, Any]) -> None:
    """A dataset's profile sizes every space it can (e.g. ``C``, ``N`` for tiny datasets); a space
    that declares no such option (``nb101``) simply does not get it. A key the method or the
    user set stays, so their mistakes are still reported."""
    entry = plugins["search space"].get(config["space"]["name"])
    if entry.options is None:
        return
    asked = _space_options(method_defaults) | _space_options(user)
    options = config["space"].get("options")
    for key in _space_options(dict(profile.settings)) - set(entry.options.model_fields) - asked:
        if isinstance(options, dict):
            options.pop(key, None)


def _checked(model: type[Options] | None, raw: Any, where: str, plugins: Plugins, key: str) -> Any:
    """``raw`` through ``model``; ``key`` is the config path of these options (``optimizer.options``)."""
    if model is None:
        return raw
    return parse_options(model, raw, where, f"--set {key}.<option>=<value>", plugins).model_dump(mode="json")


def validate_components(plugins: Plugins, config: dict[str, Any]) -> None:
    """Fail before any work on an unknown name or a bad option; fill in the options' defaults."""
    for section in ("space", "dataset", "optimizer", "selector", "benchmarks"):
        if not isinstance(config.get(section), dict):
            raise UserError(f"config section '{section}' must be a table, got {config.get(section)!r}")
    space = plugins["search space"].create(config["space"]["name"])
    config["space"]["options"] = space.options(config["space"].get("options")).model_dump(mode="json")
    plugins["dataset"].get(config["dataset"]["name"])
    for kind in ("optimizer", "selector"):
        entry = plugins[kind].check_complete(config[kind]["name"])
        config[kind]["options"] = _checked(entry.options, config[kind].get("options"), f"{kind} {entry.name}", plugins,
                                           f"{kind}.options")
    names = config["benchmarks"].get("names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"benchmarks.names must be a list of benchmark names, got {names!r}")
    all_options = config["benchmarks"].setdefault("options", {})
    used = [n.rstrip("?") for n in names]
    for name in used:
        plugins["benchmark"].check_complete(name)
    for name in all_options:  # also those of benchmarks this run does not use: a typo would change the hash silently
        if name not in plugins["benchmark"]:
            raise UserError(f"benchmarks.options.{name}: there is no benchmark '{name}'; known: "
                            f"{', '.join(sorted(e.name for e in plugins['benchmark'].entries()))}")
        checked = _checked(plugins["benchmark"].get(name).options, all_options[name], f"benchmark {name}", plugins,
                           f"benchmarks.options.{name}")
        if name in used:  # an unused benchmark's options are checked, but not filled in (the config hash stays)
            all_options[name] = checked

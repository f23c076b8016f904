"""Loading plugins from the ``nasbench`` entry-point group and building the registries.

Built-in plugins are listed in this project's own ``pyproject.toml`` under the same
entry-point group as third-party packages, so both load the same way. Setting
``NASBENCH_DISABLE_THIRD_PARTY=1`` loads only the built-ins.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from harness.api.benchmarks import Benchmark
from harness.api.datasets import Dataset
from harness.api.errors import UserError
from harness.api.executors import Executor
from harness.api.loggers import RunLogger
from harness.api.methods import Method
from harness.api.optimizers import ArchOptimizer
from harness.api.proxies import Proxy
from harness.api.selectors import Selector
from harness.api.spaces import SearchSpace
from harness.plugin import hookspecs
from harness.plugin.failures import describe_exception
from harness.plugin.registry import Registry

GROUP = "nasbench"
OWN_DISTRIBUTION = "nasbench"
DISABLE_THIRD_PARTY = "NASBENCH_DISABLE_THIRD_PARTY"

REGISTRATION_HOOKS = {
    "search space": "nasbench_register_search_spaces",
    "optimizer": "nasbench_register_optimizers",
    "selector": "nasbench_register_selectors",
    "benchmark": "nasbench_register_benchmarks",
    "dataset": "nasbench_register_datasets",
    "method": "nasbench_register_methods",
    "proxy": "nasbench_register_proxies",
    "logger": "nasbench_register_loggers",
    "executor": "nasbench_register_executors",
}

PRODUCTS: dict[str, type] = {
    "search space": SearchSpace,
    "optimizer": ArchOptimizer,
    "selector": Selector,
    "benchmark": Benchmark,
    "dataset": Dataset,
    "method": Method,
    "proxy": Proxy,
    "logger": RunLogger,
    "executor": Executor,
}
"""What each kind's factory must return."""


@dataclass(frozen=True)
class PluginSource:
    """Where a loaded plugin came from, for ``nasbench plugins``."""

    name: str
    distribution: str
    version: str
    module: str
    path: str
    builtin: bool


class Plugins:
    """The plugin manager plus one registry per component kind."""

    def __init__(self, manager: pluggy.PluginManager, sources: list[PluginSource]) -> None:
        self.manager = manager
        self.sources = sources
        self.registries = {kind: Registry(kind, PRODUCTS[kind]) for kind in REGISTRATION_HOOKS}
        for kind, hook_name in REGISTRATION_HOOKS.items():
            self._collect(kind, hook_name)

    def _collect(self, kind: str, hook_name: str) -> None:
        registry = self.registries[kind]
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():
            plugin_name = self.manager.get_name(impl.plugin) or repr(impl.plugin)

            def register(name: str, factory: Any, description: str = "", options: Any = None,
                         _plugin: str = plugin_name) -> None:
                registry.add(name, factory, _plugin, description or _own_description(registry.kind, factory), options)

            try:
                impl.function(register=register)
            except UserError:
                raise
            except Exception as exc:  # a broken plugin names itself instead of stopping every command with a traceback
                raise UserError(f"plugin '{plugin_name}' failed in {hook_name}: {describe_exception(exc)}; "
                                f"fix it, or set {DISABLE_THIRD_PARTY}=1") from None

    def version_of(self, kind: str, name: str) -> str:
        """``"<distribution> <version>"`` of the plugin that registered ``name`` (checkpoints are keyed to it)."""
        plugin = self.registries[kind].get(name).plugin
        source = next((s for s in self.sources if s.name == plugin), None)
        return f"{source.distribution} {source.version}".strip() if source else plugin

    def __getitem__(self, kind: str) -> Registry:
        return self.registries[kind]

    @property
    def hook(self) -> Any:
        return self.manager.hook


def _own_description(kind: str, factory: Any) -> str:
    """The description a component already carries, so a plugin states it once: a ``Method``'s
    ``description`` (methods are cheap presets), else the first line of a factory class's docstring."""
    if isinstance(factory, str):
        return ""
    if kind == "method":
        try:
            made = factory()
        except Exception:  # a broken preset is reported when it is used
            return ""
        return made.description if isinstance(made, Method) else ""
    if not isinstance(factory, type):
        return ""
    doc = (factory.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _third_party_disabled() -> bool:
    return os.environ.get(DISABLE_THIRD_PARTY, "").strip().lower() not in ("", "0", "false", "no")


def load_plugins(extra: list[ModuleType | object] | None = None, from_entry_points: bool = True) -> Plugins:
    """Load every plugin from the entry points, plus ``extra`` objects not already loaded (tests)."""
    manager = pluggy.PluginManager(GROUP)
    manager.add_hookspecs(hookspecs)
    sources: list[PluginSource] = []
    skip_third_party = _third_party_disabled()
    seen: dict[str, str] = {}
    for ep in entry_points(group=GROUP) if from_entry_points else ():
        dist = ep.dist.metadata["Name"] if ep.dist is not None else "unknown"
        builtin = dist == OWN_DISTRIBUTION
        if skip_third_party and not builtin:
            continue
        if ep.name in seen:
            if seen[ep.name] != dist:
                raise UserError(_clash(ep.name, seen[ep.name], dist))
            continue  # the same distribution found twice on sys.path (e.g. an editable install)
        seen[ep.name] = dist
        try:
            module = ep.load()
        except Exception as exc:  # a broken third-party package must not hide the others
            raise UserError(f"plugin '{ep.name}' from {dist} failed to import ({describe_exception(exc)}); "
                            f"fix or uninstall {dist}, or set {DISABLE_THIRD_PARTY}=1") from exc
        check_hooks(manager, module, ep.name, dist)
        sources.append(PluginSource(
            name=ep.name,
            distribution=dist,
            version=ep.dist.version if ep.dist is not None else "",
            module=ep.value,
            path=getattr(module, "__file__", "") or "",
            builtin=builtin,
        ))
    for obj in extra or []:
        if manager.is_registered(obj):
            continue
        name = getattr(obj, "__name__", None) or type(obj).__name__
        check_hooks(manager, obj, name, "(registered in-process)")
        sources.append(PluginSource(name, "(registered in-process)", "", name, "", False))
    return Plugins(manager, sources)


def check_hooks(manager: pluggy.PluginManager, plugin: object, name: str, distribution: str) -> None:
    """Register ``plugin``, refusing in one line what would otherwise be a traceback in every command
    (a hook whose arguments differ from its spec) or never be called (a misspelt hook name, a hook
    function without ``@hookimpl``)."""
    fix = f"fix it, or set {DISABLE_THIRD_PARTY}=1 to load only the built-ins"
    hooks = {attr for attr in dir(hookspecs) if attr.startswith(f"{GROUP}_")}
    marked = {attr: opts for attr in dir(plugin) if (opts := manager.parse_hookimpl_opts(plugin, attr)) is not None}
    unmarked = sorted(attr for attr in hooks - marked.keys() if callable(getattr(plugin, attr, None)))
    if unmarked:
        raise UserError(f"plugin '{name}' ({distribution}) defines {', '.join(unmarked)} without @hookimpl, so it "
                        f"would never be called: decorate it with `from harness import hookimpl`; {fix}")
    if unknown := sorted(attr for attr, opts in marked.items() if attr not in hooks and not opts.get("optionalhook")):
        raise UserError(f"plugin '{name}' ({distribution}) has @hookimpl {', '.join(unknown)}, which is no nasbench "
                        f"hook (misspelt?); the hooks are {', '.join(sorted(hooks))}; {fix}")
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise UserError(f"plugin '{name}' ({distribution}): {exc}; {fix}") from None


def _clash(name: str, first: str, second: str) -> str:
    builtin = [d for d in (first, second) if d == OWN_DISTRIBUTION]
    other = second if first in builtin else first
    what = "a built-in plugin" if builtin else f"the plugin of {first if other == second else second}"
    return (f"plugin name '{name}' is claimed by {other} and by {what}; one would silently replace the other: "
            f"rename the entry point in {other}'s [project.entry-points.nasbench], or uninstall it "
            f"(or set {DISABLE_THIRD_PARTY}=1)")


_cached: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use."""
    global _cached
    if _cached is None:
        _cached = load_plugins()
    return _cached


def install(plugins: Plugins | None) -> Plugins | None:
    """Make ``plugins`` the process-wide set (None: load again on next use); returns the previous one."""
    global _cached
    previous, _cached = _cached, plugins
    return previous


def reset_plugins() -> None:
    """Forget the loaded plugins (tests that install a plugin call this)."""
    global _cached
    _cached = None
    importlib.invalidate_caches()

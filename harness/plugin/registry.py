"""Name → factory tables filled by the plugins' registration hooks.

A factory may be given as ``"package.module:Name"`` (with its ``options`` model beside
it) instead of the object itself: then nothing heavy is imported until a component is
created, so listing components and the CLI's quick commands stay fast.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from harness.api.errors import UserError
from harness.api.options import Options

LAZY_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Entry:
    """One registered component and the plugin it came from."""

    kind: str
    name: str
    target: Callable[..., Any] | str
    plugin: str
    description: str = ""
    declared_options: type[Options] | None = None

    @cached_property
    def factory(self) -> Callable[..., Any]:
        """The factory itself (a ``"module:Name"`` target is imported now, once)."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            value: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                value = getattr(value, part)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"{self.kind} '{self.name}' from plugin {self.plugin}: cannot import {self.target} ({exc}); "
                            "fix or uninstall that plugin") from exc
        if not callable(value):
            raise UserError(f"{self.kind} '{self.name}' from plugin {self.plugin}: {self.target} is not callable")
        return value

    @property
    def listed_options(self) -> type[Options] | None:
        """The options ``nasbench list`` shows: as ``options``, but never importing a lazy target."""
        if isinstance(self.target, str):
            return self.declared_options
        return self.options

    @property
    def options(self) -> type[Options] | None:
        """The component's options model: declared at registration, else its factory's ``Options``."""
        if self.declared_options is not None:
            return self.declared_options
        model = getattr(self.factory, "Options", None)
        return model if isinstance(model, type) and issubclass(model, Options) else None


class Registry:
    """All components of one kind (search spaces, optimizers, ...).

    ``product`` is the contract every factory must return an instance of; a plugin whose
    factory returns something else is named at creation instead of failing later.
    """

    def __init__(self, kind: str, product: type | None = None) -> None:
        self.kind = kind
        self.product = product
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, factory: Callable[..., Any] | str, plugin: str, description: str = "",
            options: type[Options] | None = None) -> None:
        if problem := self._registration_problem(name, factory, options):
            raise UserError(f"plugin {plugin} registered an invalid {self.kind} ({name!r}, {factory!r}): {problem}; "
                            "register(name: str, factory: callable or 'module:Name', description: str, "
                            "options: harness.Options subclass)")
        if name in self._entries:
            other = self._entries[name].plugin
            raise UserError(
                f"{self.kind} '{name}' is registered twice (by plugin {other} and by plugin {plugin}); rename it in "
                "the one you maintain, uninstall the other, or set NASBENCH_DISABLE_THIRD_PARTY=1 to load only the "
                "built-ins"
            )
        self._entries[name] = Entry(self.kind, name, factory, plugin, description, options)

    def _registration_problem(self, name: Any, factory: Any, options: Any) -> str | None:
        if not isinstance(name, str) or not name:
            return "the name must be a non-empty string"
        if not (callable(factory) or (isinstance(factory, str) and LAZY_TARGET.match(factory))):
            hint = " (a method is registered as `lambda: Method(...)`)" if self.kind == "method" else ""
            return f"the factory must be callable or 'module:Name', got a {type(factory).__name__}{hint}"
        if not (options is None or (isinstance(options, type) and issubclass(options, Options))):
            return f"options must be a harness.Options subclass, got {options!r}"
        return None

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._entries)) or "none"
            close = difflib.get_close_matches(str(name), list(self._entries), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UserError(f"unknown {self.kind} '{name}'{hint}; known: {known}") from None

    def check_complete(self, name: str) -> Entry:
        """The entry, if its class implements every abstract method of its contract (it imports a lazy
        target): a missing one is named before any work rather than failing each seed when it is built."""
        entry = self.get(name)
        factory = entry.factory
        if isinstance(factory, type) and inspect.isabstract(factory):
            missing = ", ".join(sorted(getattr(factory, "__abstractmethods__", ())))
            raise UserError(f"{self.kind} '{name}' from plugin {entry.plugin}: class {factory.__name__} does not "
                            f"implement {missing}; fix or update that plugin")
        return entry

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        entry = self.check_complete(name)
        own = getattr(entry.factory, "Options", None) if isinstance(entry.factory, type) else None
        if entry.declared_options is not None and own is not None and own is not entry.declared_options:
            declared = entry.declared_options.__qualname__
            raise UserError(f"{self.kind} '{name}' from plugin {entry.plugin} is registered with options={declared}, "
                            f"but its class reads {own.__qualname__}: set `Options = {declared}` in class "
                            f"{entry.factory.__name__}")
        made = entry.factory(*args, **kwargs)
        if self.product is not None and not isinstance(made, self.product):
            raise UserError(f"{self.kind} '{name}' from plugin {entry.plugin} returned a {type(made).__name__}, "
                            f"not a harness.{self.product.__name__}; fix or uninstall that plugin")
        return made

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

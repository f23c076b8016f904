"""Name → factory tables filled by the plugins' registration hooks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.api.errors import UserError
from harness.api.options import Options


@dataclass(frozen=True)
class Entry:
    """One registered component and the plugin it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""

    @property
    def options(self) -> type[Options] | None:
        """The component's declared options model, when its factory is a class that has one."""
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

    def add(self, name: str, factory: Callable[..., Any], plugin: str, description: str = "") -> None:
        if not isinstance(name, str) or not name or not callable(factory):
            raise UserError(f"plugin {plugin} registered an invalid {self.kind} ({name!r}, {factory!r}); "
                            "register(name: str, factory: callable, description: str)")
        if name in self._entries:
            other = self._entries[name].plugin
            raise UserError(
                f"{self.kind} '{name}' is registered twice (by {other} and by {plugin}); "
                "uninstall one of the two plugins or set NASBENCH_DISABLE_THIRD_PARTY=1"
            )
        self._entries[name] = Entry(self.kind, name, factory, plugin, description)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._entries)) or "none"
            raise UserError(f"unknown {self.kind} '{name}'; known: {known}") from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        entry = self.get(name)
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

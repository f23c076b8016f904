"""Name → factory tables filled by the plugins' registration hooks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from harness.errors import UserError


@dataclass(frozen=True)
class Entry:
    """One registered component and the plugin it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""


class Registry:
    """All components of one kind (search spaces, optimizers, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, factory: Callable[..., Any], plugin: str, description: str = "") -> None:
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
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UserError(f"unknown {self.kind} '{name}'; known: {known}") from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name).factory(*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

"""Methods: named presets of optimizer + selector + default settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Method:
    """A named preset.

    ``defaults`` is a partial config (same sections as the resolved config, e.g.
    ``{"optimizer": {"options": {"samples": 3}}, "search": {"epochs": 0}}``) applied
    over the harness defaults and under the user's command-line settings.
    """

    name: str
    optimizer: str
    selector: str
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

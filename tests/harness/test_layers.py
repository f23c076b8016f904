"""The layers of ``harness`` and the public boundary plugins must stay behind.

Read from the source with ``ast`` (imports inside functions and ``TYPE_CHECKING`` blocks
count too), so a new import that breaks a rule fails here, not in a reviewer's head.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from paths import REPO_ROOT

ROOT = REPO_ROOT
LAYERS = ["api", "plugin", "engine", "store", "report", "experiment", "cli"]
"""Each layer may import only itself and the layers before it."""


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "harness" and parts[1] in LAYERS else None


def test_every_harness_module_sits_in_a_layer():
    stray = [p.relative_to(ROOT) for p in python_files("harness")
             if p.parent == ROOT / "harness" and p.name != "__init__.py"]
    assert stray == [], f"modules outside a layer folder: {stray}"


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_earlier_layers(layer):
    allowed = set(LAYERS[:LAYERS.index(layer) + 1])
    bad = []
    for path in python_files(f"harness/{layer}"):
        for module in imported_modules(path):
            target = layer_of(module)
            if module == "harness":
                bad.append(f"{path.relative_to(ROOT)} imports the public face `harness` (import the layer module)")
            elif target is not None and target not in allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {module} ({target} comes after {layer})")
    assert bad == []


def test_api_depends_on_no_implementation():
    for path in python_files("harness/api"):
        assert {layer_of(m) for m in imported_modules(path)} <= {None, "api"}, path


def test_harness_never_imports_plugins():
    offenders = [str(p.relative_to(ROOT)) for p in python_files("harness")
                 if any(m == "plugins" or m.startswith("plugins.") for m in imported_modules(p))]
    assert offenders == []


def test_plugins_use_only_the_public_api():
    """Built-ins are plugins like any other: ``from harness import ...`` and nothing deeper."""
    offenders = [f"{path.relative_to(ROOT)} imports {module}" for path in python_files("plugins")
                 for module in imported_modules(path) if module.startswith("harness.")]
    assert offenders == []


def test_public_api_names_resolve():
    import harness

    missing = [name for name in harness.__all__ if not hasattr(harness, name)]
    assert missing == []

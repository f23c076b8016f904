"""Testing a plugin in process, without installing it: what a plugin's own test suite uses.

``plugin_installed(module)`` loads the plugin next to the built-ins (entry points as usual)
for the duration of a ``with`` block, and ``run_nasbench(...)`` runs a ``nasbench``
command in process with that plugin set, its own commands included::

    from harness import plugin_installed, run_nasbench
    import my_plugin

    def test_my_proxy():
        with plugin_installed(my_plugin) as plugins:
            assert "my-proxy" in plugins["proxy"]
            result = run_nasbench("list", "proxy")
            assert result.exit_code == 0 and "my-proxy" in result.output
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import click
from click.testing import CliRunner, Result

from harness.plugin import manager
from harness.plugin.manager import Plugins, load_plugins


@contextmanager
def plugin_installed(*plugins: ModuleType | object, builtins: bool = True) -> Iterator[Plugins]:
    """Within the block, every ``nasbench`` code path sees ``plugins`` registered (hooks and components),
    after the installed ones when ``builtins``; the previous plugin set comes back afterwards."""
    loaded = load_plugins(list(plugins), from_entry_points=builtins)
    previous = manager.install(loaded)
    try:
        yield loaded
    finally:
        manager.install(previous)


def run_nasbench(*args: str) -> Result:
    """``nasbench ARGS`` in process with the current plugin set; a bug raises with its traceback,
    a ``UserError`` comes back as exit code 2 and its ``Error:`` line in ``result.output``."""
    from harness.cli.main import cli

    group = click.Group(cli.name, commands=dict(cli.commands), help=cli.help)
    manager.get_plugins().hook.nasbench_register_commands(cli=group)
    return CliRunner().invoke(group, list(args), prog_name="nasbench", catch_exceptions=False)

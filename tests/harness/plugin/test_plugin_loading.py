"""A third-party plugin, taken verbatim from the README, loaded through a real entry point."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import pytest
import torch
from click.testing import CliRunner
from paths import REPO_ROOT

from harness import UserError
from harness.plugin.manager import get_plugins, reset_plugins

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = REPO_ROOT / "README.md"


def readme_blocks() -> tuple[dict, list[str]]:
    section = README.read_text().split("## Writing a plugin", 1)[1]
    toml_block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    return tomllib.loads(toml_block), re.findall(r"```python\n(.*?)```", section, re.S)


def readme_example() -> tuple[dict, str]:
    project, python_blocks = readme_blocks()
    return project, python_blocks[0]


def install_distribution(root, name: str, version: str, entry_points: dict[str, str]) -> None:
    """A dist-info folder on sys.path: what `pip install` leaves for importlib.metadata to find."""
    dist = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[nasbench]\n{lines}")


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    """Write the README's package as an installed distribution (module + dist-info) on sys.path."""
    project, code = readme_example()
    module = project["project"]["entry-points"]["nasbench"]["gradnorm"]
    (tmp_path / f"{module}.py").write_text(code)
    install_distribution(tmp_path, project["project"]["name"], project["project"]["version"], {"gradnorm": module})
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_plugins()
    yield project
    sys.modules.pop(module, None)
    reset_plugins()


def test_third_party_plugin_registers_through_its_entry_point(installed_example):
    plugins = get_plugins()
    assert "grad-norm" in plugins["proxy"] and "balenas-gradnorm" in plugins["method"]
    source = next(s for s in plugins.sources if s.name == "gradnorm")
    assert source.distribution == "nasbench-gradnorm" and not source.builtin
    builtin = next(s for s in plugins.sources if s.name == "darts")
    assert builtin.distribution == "nasbench" and builtin.builtin
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    score = plugins["proxy"].create("grad-norm").score(
        network, torch.ones(3, 1, 2, 2), torch.tensor([0, 1, 0]), torch.nn.functional.cross_entropy)
    assert score > 0


def test_environment_variable_disables_third_party_plugins(installed_example, monkeypatch):
    monkeypatch.setenv("NASBENCH_DISABLE_THIRD_PARTY", "1")
    reset_plugins()
    plugins = get_plugins()
    assert "grad-norm" not in plugins["proxy"]
    assert "darts" in plugins["method"]


def test_plugins_command_shows_where_each_plugin_came_from(installed_example):
    from harness.cli.main import cli

    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "gradnorm (third-party) — nasbench-gradnorm 0.1.0" in result.output
    assert "darts (built-in) — nasbench" in result.output
    listed = CliRunner().invoke(cli, ["list", "proxy"])
    assert "grad-norm" in listed.output and "[gradnorm]" in listed.output


def test_the_readmes_plugin_test_passes_with_the_public_helper(installed_example, tmp_path):
    """The README's `test_gradnorm.py`, run as its author would (through `harness.plugin_installed`)."""
    _, blocks = readme_blocks()
    namespace: dict = {}
    exec(compile(blocks[1], "test_gradnorm.py", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0](tmp_path)
    assert list(tmp_path.rglob("record.json"))


def test_the_readmes_package_layout_builds_a_wheel_with_the_entry_point(tmp_path):
    """The README's pyproject.toml builds as `pip install` would, even with the test file beside the
    module (setuptools' discovery refuses two top-level modules unless `py-modules` names one)."""
    section = README.read_text().split("## Writing a plugin", 1)[1]
    (tmp_path / "pyproject.toml").write_text(re.search(r"```toml\n(.*?)```", section, re.S).group(1))
    _, blocks = readme_blocks()
    (tmp_path / "nasbench_gradnorm.py").write_text(blocks[0])
    (tmp_path / "test_gradnorm.py").write_text(blocks[1])
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--wheel-dir", str(tmp_path / "dist"), str(tmp_path)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("nasbench_gradnorm-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read("nasbench_gradnorm-0.1.0.dist-info/entry_points.txt").decode()
    assert "nasbench_gradnorm.py" in names and not any("test_gradnorm" in name for name in names)
    assert "[nasbench]\ngradnorm = nasbench_gradnorm" in entry_points


def test_a_third_party_entry_point_named_like_a_built_in_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "my_darts.py").write_text("")
    install_distribution(tmp_path, "nasbench-my-darts", "1.0", {"darts": "my_darts"})
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_plugins()
    try:
        with pytest.raises(UserError) as error:
            get_plugins()
        assert "plugin name 'darts' is claimed by nasbench-my-darts and by a built-in plugin" in error.value.message
        monkeypatch.setenv("NASBENCH_DISABLE_THIRD_PARTY", "1")
        reset_plugins()
        assert "darts" in get_plugins()["optimizer"]
    finally:
        sys.modules.pop("my_darts", None)
        reset_plugins()


BROKEN_PLUGINS = {
    "wrong-arguments": ("@hookimpl\ndef nasbench_epoch_end(run, row, epoch):\n    pass\n",
                        "plugin 'broken' (nasbench-broken): Plugin 'broken' for hook 'nasbench_epoch_end'"),
    "no-hookimpl": ("def nasbench_register_methods(register):\n    pass\n",
                    "defines nasbench_register_methods without @hookimpl, so it would never be called"),
    "misspelt": ("@hookimpl\ndef nasbench_register_optimiser(register):\n    pass\n",
                 "has @hookimpl nasbench_register_optimiser, which is no nasbench hook (misspelt?)"),
    "fails-to-import": ("missing_name + 1\n",
                        "plugin 'broken' from nasbench-broken failed to import (NameError: name 'missing_name' is not "
                        "defined (at broken_plugin.py:2 in <module>))"),
    "raises-registering": ("@hookimpl\ndef nasbench_register_datasets(register):\n    raise ValueError('no blobs')\n",
                           "plugin 'broken' failed in nasbench_register_datasets: ValueError: no blobs "
                           "(at broken_plugin.py:"),
    "raises-adding-commands": ("@hookimpl\ndef nasbench_register_commands(cli):\n    raise KeyError('cli')\n",
                               "plugin 'broken' failed in nasbench_register_commands: KeyError: 'cli'"),
    "replaces-a-command": ("import click\n@hookimpl\ndef nasbench_register_commands(cli):\n"
                           "    @cli.command('table')\n    def hello():\n        click.echo('hello')\n",
                           "plugin 'broken' adds command(s) table, which `nasbench` already has"),
}


@pytest.mark.parametrize("mistake", BROKEN_PLUGINS)
def test_a_plugin_authors_mistake_is_one_line_naming_the_plugin(mistake, tmp_path):
    """Each used to be a traceback in every command, or a hook or command silently lost."""
    code, message = BROKEN_PLUGINS[mistake]
    (tmp_path / "broken_plugin.py").write_text("from harness import hookimpl\n" + code)
    install_distribution(tmp_path, "nasbench-broken", "0.1", {"broken": "broken_plugin"})
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "harness.cli.main", "plugins"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and "NASBENCH_DISABLE_THIRD_PARTY=1" in result.stderr
    fixed = subprocess.run([sys.executable, "-m", "harness.cli.main", "plugins"], capture_output=True, text=True,
                           env={**env, "NASBENCH_DISABLE_THIRD_PARTY": "1"}, timeout=120)
    assert fixed.returncode == 0, fixed.stderr

"""The quick commands answer without importing torch, and lazily registered options match the components'."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from harness.cli.main import build_cli
from harness.plugin.manager import load_plugins

QUICK_COMMANDS = [["--help"], ["list"], ["list", "optimizer"], ["list", "datasets"], ["list", "benchmarks"], ["plugins"],
                  ["query", "6111"], ["table", "--help"], ["benchmark", "--help"], ["proxies", "list"]]

PROBE = """
import sys
from harness.cli.main import build_cli
for args in {commands!r}:
    try:
        build_cli().main(args, prog_name="nasbench", standalone_mode=False)
    except SystemExit:
        pass
    if "torch" in sys.modules:
        print("torch imported by: nasbench " + " ".join(args))
        break
else:
    print("no torch")
"""


def test_quick_commands_do_not_import_torch(tmp_path):
    env = {**os.environ, "NASBENCH_HOME": str(tmp_path), "OMP_NUM_THREADS": "1"}
    env.pop("NASBENCH_NB201_FILE", None)
    done = subprocess.run([sys.executable, "-c", PROBE.format(commands=QUICK_COMMANDS)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "no torch", done.stdout[-2000:]


def test_declared_options_are_the_components_own():
    """A built-in registered lazily declares its options model (if it has options): the class's ``Options``."""
    plugins = load_plugins()
    checked = 0
    for kind in ("search space", "optimizer", "selector", "benchmark"):
        for entry in plugins[kind].entries():
            if entry.plugin in {"nb201", "nb201-benchmark", "retrain", "darts", "balenas", "pt", "pgnas"}:
                own = getattr(entry.factory, "Options", None)
                listed = entry.listed_options
                assert listed is entry.options or (listed is None and not entry.options.model_fields), entry.name
                assert entry.options is own, entry.name
                checked += 1
    assert checked >= 12


@pytest.mark.parametrize("singular, plural", [("proxy", "proxies"), ("search-space", "search-spaces"),
                                              ("executor", "executors")])
def test_list_takes_a_kind_singular_or_plural(singular, plural):
    one, many = (CliRunner().invoke(build_cli(), ["list", kind]) for kind in (singular, plural))
    assert one.exit_code == many.exit_code == 0, one.output + many.output
    assert one.output == many.output
    assert one.output.splitlines()[0] == plural.replace("-", " ")


def test_list_takes_a_kind_by_its_last_word_as_the_flags_name_it():
    outputs = [CliRunner().invoke(build_cli(), ["list", kind]).output for kind in ("space", "spaces", "search-space")]
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0].startswith("search spaces\n")


def test_list_datasets_shows_the_settings_every_dataset_takes():
    result = CliRunner().invoke(build_cli(), ["list", "datasets"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    settings = lines[lines.index("  every dataset:") + 1:]
    assert [line.split(" = ")[0].strip() for line in settings] == ["dataset.data_dir", "dataset.image_size",
                                                                   "dataset.train_size"]
    assert "box-downsample" in settings[1]

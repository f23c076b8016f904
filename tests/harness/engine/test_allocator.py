"""Which allocator a process runs with, what `nasbench bench` says about it, and what a record keeps."""
from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import harness.engine.allocator as allocator
from harness.cli.main import build_cli

TCMALLOC_MAP = "7f2c1000-7f2c2000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10\n"
GLIBC_MAP = "7f2c1000-7f2c2000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n"


def test_the_memory_map_names_the_allocator():
    assert allocator.allocator_in(GLIBC_MAP + TCMALLOC_MAP) == "tcmalloc"
    assert allocator.allocator_in(GLIBC_MAP + GLIBC_MAP.replace("libc.so.6", "libjemalloc.so.2")) == "jemalloc"
    assert allocator.allocator_in(GLIBC_MAP + "7f 00 /home/me/tcmalloc-notes.txt\n") == "system"


def test_this_test_process_runs_on_the_system_allocator():
    assert allocator.loaded_allocator() == "system"


@pytest.mark.parametrize("name", ["tcmalloc_minimal", "jemalloc"])
def test_a_preloaded_allocator_is_seen(name):
    library = ctypes.util.find_library(name)
    if library is None:
        pytest.skip(f"lib{name} is not installed here")
    found = subprocess.run([sys.executable, "-c", "from harness.engine.allocator import loaded_allocator as f; print(f())"],
                           env={"LD_PRELOAD": library, "PATH": ""}, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == name.split("_")[0]


def test_the_hint_names_an_installed_library_then_how_to_get_one_and_nothing_when_loaded(monkeypatch):
    monkeypatch.setattr(allocator, "loaded_allocator", lambda: "system")
    monkeypatch.setattr(allocator, "installed_fast_allocator", lambda: "libjemalloc.so.2")
    assert "`LD_PRELOAD=libjemalloc.so.2 nasbench ...`" in allocator.allocator_hint()
    monkeypatch.setattr(allocator, "installed_fast_allocator", lambda: None)
    assert "apt install libtcmalloc-minimal4" in allocator.allocator_hint()
    monkeypatch.setattr(allocator, "loaded_allocator", lambda: "tcmalloc")
    assert allocator.allocator_hint() is None


BENCH = ["bench", "-C", "4", "-N", "1", "--resolution", "8", "--steps", "1", "--repeats", "1", "--eval-images", "64",
         "--device", "cpu"]


def test_bench_on_the_cpu_names_the_allocator_and_gives_the_hint(monkeypatch):
    monkeypatch.setattr(allocator, "installed_fast_allocator", lambda: None)
    result = CliRunner().invoke(build_cli(), BENCH)
    assert result.exit_code == 0, result.output
    assert ", allocator system)" in result.stdout.splitlines()[0]
    assert "note: running on the system's malloc" in result.stderr
    as_json = CliRunner().invoke(build_cli(), [*BENCH, "--json"])
    assert json.loads(as_json.output)["device"].endswith(", allocator system)")  # nothing but the JSON


def test_a_record_keeps_the_allocator(tmp_path):
    result = CliRunner().invoke(build_cli(), ["run", "--method", "random", "--dataset", "synthetic", "--device", "cpu",
                                              "--benchmark", "nb201?", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    record = json.loads(next(tmp_path.rglob("record.json")).read_text())
    assert record["versions"]["allocator"] == "system"

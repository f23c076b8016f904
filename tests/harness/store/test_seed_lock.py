"""The run-folder lock: exclusive across processes, named holder, free again after kill -9."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness.store.seed_lock import SeedLock

HOLD = """
import sys, time
from pathlib import Path
from harness.store.seed_lock import SeedLock
lock = SeedLock(Path(sys.argv[1]))
assert lock.acquire(wait=False)
print("held", flush=True)
time.sleep(600)
"""


def hold_in_another_process(folder: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_second_holder_is_refused_and_told_who_holds_it(tmp_path):
    child = hold_in_another_process(tmp_path / "seed-0")
    try:
        lock = SeedLock(tmp_path / "seed-0")
        assert not lock.acquire(wait=False)
        assert lock.holder() == f"pid {child.pid} on {socket.gethostname()}"
    finally:
        child.kill()
        child.wait()


def test_lock_of_a_killed_process_is_free_at_once(tmp_path):
    child = hold_in_another_process(tmp_path / "seed-0")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    lock = SeedLock(tmp_path / "seed-0")
    started = time.monotonic()
    assert lock.acquire(wait=True)
    assert time.monotonic() - started < 5
    assert lock.holder() == f"pid {os.getpid()} on {socket.gethostname()}"
    lock.release()
    assert SeedLock(tmp_path / "seed-0").acquire(wait=False)


def test_two_locks_in_one_process_exclude_each_other_until_released(tmp_path):
    first, second = SeedLock(tmp_path), SeedLock(tmp_path)
    assert first.acquire(wait=False)
    assert not second.acquire(wait=False)
    first.release()
    assert second.acquire(wait=False)
    with second:
        assert not SeedLock(tmp_path).acquire(wait=False)
    assert SeedLock(tmp_path).acquire(wait=False)


def test_release_removes_a_run_folder_holding_no_result_and_its_empty_parents(tmp_path):
    root = tmp_path / "runs"
    unused, used = root / "darts" / "nb201-cifar10" / "ab12" / "seed-0", root / "pt" / "nb201-cifar10" / "cd34" / "seed-0"
    with SeedLock(unused, root) as lock:
        assert lock.acquire(wait=False)
        (unused / "config.json").write_text("{}")
    with SeedLock(used, root) as lock:
        assert lock.acquire(wait=False)
        (used / "record.json").write_text("{}")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "pt", "pt/nb201-cifar10", "pt/nb201-cifar10/cd34", "pt/nb201-cifar10/cd34/seed-0",
        "pt/nb201-cifar10/cd34/seed-0/.lock", "pt/nb201-cifar10/cd34/seed-0/record.json"]
    with SeedLock(root / "x" / "seed-1") as lock:  # no root: the folder stays
        assert lock.acquire(wait=False)
    assert (root / "x" / "seed-1" / ".lock").exists()


def test_a_waiter_on_a_removed_lock_holds_the_lock_at_the_path(tmp_path):
    root = tmp_path / "runs"
    folder = root / "darts" / "seed-0"
    first, waiter = SeedLock(folder, root), SeedLock(folder, root)
    assert first.acquire(wait=False)
    got = threading.Event()
    thread = threading.Thread(target=lambda: waiter.acquire(wait=True) and got.set())
    thread.start()
    time.sleep(0.3)  # the waiter blocks on the file the first holder is about to remove
    first.release()
    thread.join(timeout=10)
    assert got.is_set()
    assert (folder / ".lock").exists()
    assert not SeedLock(folder, root).acquire(wait=False)  # one holder, not two
    waiter.release()
    assert not root.exists() or not any(root.iterdir())

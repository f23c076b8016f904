"""One process per run folder: a lock that two commands on the same results folder share.

The lock is ``fcntl.flock`` on ``seed-<k>/.lock``: the kernel drops it when its holder
exits in any way, ``kill -9`` included, so a lock left by a dead process is never stale
(on NFS, Linux maps flock to POSIX byte-range locks, which also die with the process).
The holder writes its PID and host name into the file, only so a waiting command can
say whom it waits for. A holder whose command stopped before the run wrote anything
removes the lock and the empty run folder (``release``); a command waiting on that lock
then finds its file gone and locks the one now at the path.
"""
from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from harness.store.run_folder import CONFIG, make_parent_folder

LOCK = ".lock"


class SeedLock:
    """The lock of one run folder; ``acquire(wait=False)`` says whether this process got it.

    ``root``: on release, a run folder holding no result is removed, with the folders above
    it that are then empty, up to (not including) ``root``.
    """

    def __init__(self, folder: Path, root: Path | None = None) -> None:
        self.path = folder / LOCK
        self.root = root
        self._handle: IO[str] | None = None

    def acquire(self, wait: bool) -> bool:
        while True:
            make_parent_folder(self.path, "move it away or pass another --results folder")
            try:
                handle = self.path.open("a+")
            except FileNotFoundError:  # its last holder removed the unused folder after our mkdir
                continue
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.close()
                return False
            if self._is_at_path(handle):
                break
            handle.close()  # locked a file its holder removed: lock the one at the path now
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self) -> str:
        """``"pid 123 on host"`` of the process holding (or last holding) the lock, as far as known."""
        try:
            pid, _, host = self.path.read_text().strip().partition(" ")
        except OSError:
            return "another process"
        return f"pid {pid} on {host}" if pid else "another process"

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            if self.root is not None:
                self._remove_if_unused()
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def _is_at_path(self, handle: IO[str]) -> bool:
        try:
            here = self.path.stat()
        except FileNotFoundError:
            return False
        held = os.fstat(handle.fileno())
        return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)

    def _remove_if_unused(self) -> None:
        """Still holding the lock: the run folder goes if it holds no result, only the lock and the
        run's config (a command that stopped on a user error before the run wrote anything), then
        its empty parents."""
        folder = self.path.parent
        if not {entry.name for entry in folder.iterdir()} <= {LOCK, CONFIG}:
            return
        (folder / CONFIG).unlink(missing_ok=True)
        self.path.unlink()
        assert self.root is not None
        for empty in [folder, *folder.parents]:
            if empty == self.root or self.root not in empty.parents:
                return
            try:
                empty.rmdir()
            except OSError:  # not empty (another run's folder, or a command creating this one again)
                return

    def __enter__(self) -> SeedLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

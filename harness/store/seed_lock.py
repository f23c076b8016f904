"""One process per run folder: a lock that two commands on the same results folder share.

The lock is ``fcntl.flock`` on ``seed-<k>/.lock``: the kernel drops it when its holder
exits in any way, ``kill -9`` included, so a lock left by a dead process is never stale
(on NFS, Linux maps flock to POSIX byte-range locks, which also die with the process).
The holder writes its PID and host name into the file, only so a waiting command can
say whom it waits for.
"""
from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from harness.store.run_folder import make_parent_folder

LOCK = ".lock"


class SeedLock:
    """The lock of one run folder; ``acquire(wait=False)`` says whether this process got it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self._handle: IO[str] | None = None

    def acquire(self, wait: bool) -> bool:
        make_parent_folder(self.path, "move it away or pass another --results folder")
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            return False
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
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SeedLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

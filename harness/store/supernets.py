"""Trained supernets kept for the next method that would train the same one.

Methods that differ only in how they pick the final architecture (DARTS and DARTS-PT,
BaLeNAS and BaLeNAS-TF) train the same supernet: same space, data, optimizer, search
settings and seed. The runner keeps the end-of-search checkpoint of a finished run
here, under a key of everything but the method, label and selector, and a later run
with that key resumes from it instead of training; resuming is exact (the checkpoint
holds weights, optimizer states, data-stream positions and RNG states), so the reusing
run's record is the one it would have written after training itself.

While a process trains a supernet that is not kept yet, it holds that supernet's claim;
another process about to train the same one (DARTS-PT seed k in a worker or a command beside
DARTS seed k) waits for the claim and then starts from the kept copy, instead of training it
again at the same time.
"""
from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

from harness.store.run_folder import load_checkpoint
from harness.store.seed_lock import SeedLock

SUPERNETS = ".supernets"


def supernet_path(results_root: Path, search_key: str, seed: int) -> Path:
    return results_root / SUPERNETS / search_key / f"seed-{seed}.pt"


def check_kept_supernet(kept: Path) -> None:
    """Refuse a kept supernet that cannot be loaded before a run copies it in: the error must name
    the cache file, since deleting the run's own copy only brings the broken one back."""
    load_checkpoint(kept, what_to_do="it is a supernet kept for reuse by an earlier run; delete it to train the "
                                     "supernet anew, or pass --no-reuse-supernets")


def keep_supernet(checkpoint: Path, results_root: Path, search_key: str, seed: int) -> None:
    """Store a finished run's end-of-search checkpoint (the first one kept for a key stays).

    Seeds side by side (a suite's DARTS and DARTS-PT) may keep the same supernet at once, so
    each copies into a file of its own and links it into place: no process ever sees the other's
    half-written copy, and the second to finish leaves the first's file as it is (where the
    file system has hard links).
    """
    target = supernet_path(results_root, search_key, seed)
    if not checkpoint.exists() or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")  # not mkstemp: its files are private
    try:
        shutil.copyfile(checkpoint, partial)
        try:
            os.link(partial, target)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: replacing is atomic too, the last copy stays
            partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


class SupernetClaim:
    """The claim on training one seed's supernet of one search key (a lock in ``.supernets``)."""

    def __init__(self, results_root: Path, search_key: str, seed: int) -> None:
        self.kept = supernet_path(results_root, search_key, seed)
        self.lock = SeedLock(self.kept.with_suffix(""), root=self.kept.parent)  # removed again on release

    def take(self, who: str) -> None:
        """Return at once when the supernet is kept or nobody trains it (then this process holds the
        claim); else say so on stderr and wait until whoever trains it is done."""
        if self.kept.exists() or self.lock.acquire(wait=False):
            return
        print(f"{who}: waiting for {self.lock.holder()}, which trains the same supernet", file=sys.stderr)
        self.lock.acquire(wait=True)

    def release(self) -> None:
        self.lock.release()

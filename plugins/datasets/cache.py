"""A disk cache for decoded images.

Decoding 60,000 JPEGs takes many seconds, so the decoded uint8 arrays are kept as an
``.npz`` under ``$NASBENCH_CACHE`` (default ``~/.cache/nasbench``). The caller's key must
change whenever the source changes (the JPEG loader uses path, file count, sizes, mtimes).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_ENV = "NASBENCH_CACHE"
DEFAULT_CACHE = "~/.cache/nasbench"

Arrays = dict[str, np.ndarray]


def cache_root() -> Path:
    """The user's cache folder (``$NASBENCH_CACHE`` or ``~/.cache/nasbench``)."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def cache_path(kind: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_root() / "datasets" / f"{kind}-{digest}.npz"


def cached_arrays(kind: str, key: str, names: tuple[str, ...], build: Callable[[], Arrays]) -> Arrays:
    """The arrays stored under ``key``, or ``build()``'s result, which is then stored."""
    path = cache_path(kind, key)
    arrays = _read(path, names)
    if arrays is None:
        arrays = build()
        _write(path, arrays)
    return arrays


def _read(path: Path, names: tuple[str, ...]) -> Arrays | None:
    """None when the file is absent, incomplete or damaged: the caller then rebuilds it."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if not set(names) <= set(stored.files):
                return None
            return {name: stored[name] for name in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _write(path: Path, arrays: Arrays) -> None:
    """Write atomically (temporary file + rename), so a crash never leaves a half-written cache."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy stubs match **kwds against allow_pickle: bool
        os.replace(temporary, path)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        warnings.warn(f"could not write the dataset cache {path} ({exc}); the next load decodes again. "
                      f"Set {CACHE_ENV} to a writable folder to cache it.", stacklevel=3)

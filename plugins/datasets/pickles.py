"""Official pickled batch files (CIFAR python version, downsampled ImageNet).

Unpickling runs arbitrary code, so a file is only unpickled when its md5 matches the
official checksum, or when the user says they trust it (``NASBENCH_TRUST_PICKLES=1``).
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from harness import UserError

TRUST_ENV = "NASBENCH_TRUST_PICKLES"

UNPICKLING_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                     ImportError, IndexError, KeyError)


def pickles_trusted() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_verified_pickle(path: Path, md5: str, hint: str) -> dict[str, Any]:
    """The dict stored in ``path``, after checking its md5 against the official ``md5``."""
    if not pickles_trusted():
        actual = md5_of(path)
        if actual != md5:
            raise UserError(f"{path} does not match the official checksum (md5 {actual}, expected {md5}), "
                            f"so it is not unpickled; re-download it, or set {TRUST_ENV}=1 if you trust it. {hint}")
    try:
        with path.open("rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
    except UNPICKLING_ERRORS as exc:
        raise UserError(f"{path} is not a readable pickle ({type(exc).__name__}: {exc}). {hint}") from exc
    if not isinstance(entry, dict):
        raise UserError(f"{path} holds a {type(entry).__name__}, expected the official batch dict. {hint}")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in entry.items()}


def batch_arrays(entry: dict[str, Any], path: Path, label_key: str, pixels: int,
                 hint: str) -> tuple[np.ndarray, np.ndarray]:
    """``entry['data']`` as uint8 ``N×pixels`` and ``entry[label_key]`` as int64, checked."""
    if "data" not in entry or label_key not in entry:
        raise UserError(f"{path} lacks the keys 'data' and '{label_key}' of the official format "
                        f"(has {sorted(entry)}). {hint}")
    data = np.asarray(entry["data"])
    labels = np.asarray(entry[label_key], dtype=np.int64).reshape(-1)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels or len(data) != len(labels):
        raise UserError(f"{path}: 'data' is {data.dtype} {data.shape} with {len(labels)} labels, expected "
                        f"uint8 N×{pixels} with N labels. {hint}")
    return data, labels

"""NASLib's NB101 pickle: ``{hash: (fixed statistics, {epochs: [run dicts]})}``.

This is the official API's ``fixed_statistics`` / ``computed_statistics`` pair per hash
(NASLib ``nb101_full.pickle``; its test asset ``nb101_dummy.pkl`` holds 30 cells).
Unpickling can run arbitrary code, so a pickle is read only if its SHA-256 is one we
know or the user says they trust it (option ``trust`` or ``NASBENCH_TRUST_PICKLES=1``).
"""
from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import UserError
from plugins.nb101_benchmark.table import CellRecord, add_run

TRUST_ENV = "NASBENCH_TRUST_PICKLES"
KNOWN_PICKLES = {
    "da5c65e005b96780f657e0eef79559ae44cef91ff99916433c9880bf76fa0947": "NASLib tests/assets/nb101_dummy.pkl",
}
"""SHA-256 of pickles read without ``trust``."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def trusted(option: Any) -> bool:
    def truthy(value: Any) -> bool:
        return str(value).strip().lower() in ("1", "true", "yes", "on")

    return truthy(option) or truthy(os.environ.get(TRUST_ENV, ""))


def read_naslib(path: Path, trust: Any = False) -> dict[str, CellRecord]:
    """Every cell of a NASLib NB101 pickle, after the checksum-or-trust check."""
    if not trusted(trust) and sha256(path) not in KNOWN_PICKLES:
        raise UserError(f"{path} is a pickle with an unknown checksum, and unpickling an untrusted file can run "
                        "arbitrary code; if it is NASLib's NB101 pickle from a source you trust, pass --trust "
                        "(nasbench nb101 import, nb101 info) or --set benchmarks.options.nb101.trust=true "
                        f"(nasbench run), or set {TRUST_ENV}=1")
    try:
        with path.open("rb") as stream:
            data = pickle.load(stream)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise UserError(f"cannot read {path} as NASLib's NB101 pickle ({type(exc).__name__}: {exc})") from None
    return _cells(data, path)


def _cells(data: Any, path: Path) -> dict[str, CellRecord]:
    if not isinstance(data, Mapping) or not data:
        raise UserError(f"{path} is not NASLib's NB101 pickle (expected a non-empty dict keyed by cell hash)")
    cells: dict[str, CellRecord] = {}
    for module_hash, entry in data.items():
        try:
            fixed, computed = entry
            for epochs, runs in computed.items():
                for run in runs:
                    add_run(cells, str(module_hash), int(fixed["trainable_parameters"]), int(epochs), run)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise UserError(f"{path}: entry {module_hash!r} is not (fixed statistics, computed statistics) "
                            f"as in NASLib's NB101 pickle ({type(exc).__name__}: {exc})") from None
    return cells

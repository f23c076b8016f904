"""Run folders on disk: atomic writes, the record format, checkpoints (reading many back: ``records``).

Layout: ``RESULTS/<method>/<space>-<dataset>/<config hash>/seed-<k>/`` holding
``config.json`` (resolved config), ``trajectory.csv`` (one row per epoch),
``selection.csv`` (one row per selector decision, when the selector records any),
``record.json`` (the final record) and ``checkpoint.pt`` (while the run is unfinished;
plugins such as ``retrain`` may keep their own ``*.pt`` checkpoints next to it).

``record.json`` keys: ``status`` ("finished" or "failed"), ``failure`` (reason or
null), ``method``, ``label`` (the table row), ``space``, ``dataset``, ``seed``, ``config_hash``, ``arch`` (string),
``arch_index``, ``metrics`` ({"<dataset>/<split>_<metric>": value} from every
benchmark, plus ``<dataset>/supernet_valid_acc`` from the search itself),
``metric_sources`` ({metric: benchmark or "search"}), ``skip_connect``, ``epochs``,
``search_seconds``, ``selection_seconds``, ``images_per_second``, ``device``,
``peak_memory_mb``, ``optimizer`` (final summary, e.g. σ statistics), ``selection``
(selector details), ``versions``, ``finished_at``.

Checkpoints hold only tensors and plain data (numbers, strings, lists, dicts) and are
read with ``torch.load(weights_only=True)``: a results folder someone sends you cannot
run code when you resume in it.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.api.errors import UserError

RECORD = "record.json"
CONFIG = "config.json"
TRAJECTORY = "trajectory.csv"
SELECTION = "selection.csv"
CHECKPOINT = "checkpoint.pt"
STATUSES = ("finished", "failed")
NAME_FIELDS = ("method", "label", "space", "dataset")
NUMBER_FIELDS = ("epochs", "search_seconds", "selection_seconds", "images_per_second", "peak_memory_mb",
                 "stacked_seeds", "arch_index", "skip_connect")


class CorruptFile(UserError):
    """A results file that cannot be read as what it should be; the message names it and what to do."""


def _file_mode() -> int:
    """The mode ``open()`` would give a new file (0666 less the umask); mkstemp's is 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_problem(path: Path, exc: OSError) -> UserError:
    """``exc``, raised writing ``path``, as one line saying what to do."""
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full; free some space and run the same command again (finished seeds are kept)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "the folder is not writable; pass a writable location"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        reason = "a file stands where a folder should be; pass another path"
    else:
        reason = exc.strerror or str(exc)
    return UserError(f"cannot write {path}: {reason}")


def make_parent_folder(path: Path, advice: str) -> None:
    """Create the folder ``path`` goes in; a file standing where one of its folders should be is
    one line naming that file, then ``advice``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(folder for folder in path.parents if folder.exists())
        raise UserError(f"cannot write {path}: a file stands where a folder should be ({blocker}); {advice}") from None


def check_outside_run_folders(path: Path) -> None:
    """Refuse a report (a table, a baseline) written into a seed's run folder, where its name could
    be the run's own ``record.json``: the results it tabulates would be lost."""
    folder = path.parent
    if any((folder / name).is_file() for name in (RECORD, CONFIG, CHECKPOINT)):
        raise UserError(f"--output {path} is inside the run folder {folder}, whose own files it could replace; "
                        "write it elsewhere, e.g. beside the results folder")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_problem(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _file_mode())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise write_problem(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_root(root: Path) -> None:
    """Create the results folder, or say in one line why it cannot hold results (before any work)."""
    if root.exists() and not root.is_dir():
        raise UserError(f"--results {root} is a file; pass a folder (it is created if missing)")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_problem(root, exc) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {root}: the folder is not writable; pass a writable --results folder")


def write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n").encode())


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_bytes(path, pd.DataFrame(rows).to_csv(index=False).encode())


def plain(value: Any, where: str = "checkpoint") -> Any:
    """``value`` as tensors and plain data only, which ``weights_only`` loading accepts.

    numpy arrays become tensors and numpy scalars Python numbers; anything else that is not
    a tensor, number, string, None, list, tuple or dict is a plugin mistake, named by its path.
    """
    import torch  # checkpoints only: reading records must not import torch

    if isinstance(value, np.generic):  # before the builtins: np.float64 is a float subclass
        return value.item()
    if isinstance(value, torch.Tensor) or value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, dict):
        return {key: plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise UserError(f"{where} holds a {type(value).__name__}; checkpoint state must be tensors, numbers, strings, "
                    "lists and dicts (convert it in the component's state_dict)")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch  # only runs checkpoint; reading records must not import torch

    buffer = io.BytesIO()
    torch.save(plain(state), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path, what_to_do: str = "delete it to start this seed over") -> dict[str, Any] | None:
    """A checkpoint written by ``save_checkpoint``; anything else (truncated, garbage, a pickle
    that would run code) is refused in one line without running any of it."""
    if not path.exists():
        return None
    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing; the refusal is the message
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
            KeyError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{path} is not a checkpoint this harness can load safely ({_load_problem(exc)}); "
                          f"{what_to_do}") from None
    if not isinstance(state, dict):
        raise CorruptFile(f"{path} holds a {type(state).__name__}, not a checkpoint; {what_to_do}")
    return state


def _load_problem(exc: BaseException) -> str:
    """What ``torch.load`` refused, in a few words: its weights-only refusal is a page of advice
    on loading the file anyway, which is not what a results folder from elsewhere should get."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    if unsafe := re.search(r"Unsupported global: GLOBAL (\S+)", text):
        return f"it holds {unsafe.group(1)}, which could run code when loaded"
    if detail := re.search(r"WeightsUnpickler error:\s*([^.\n]+)", text):
        return detail.group(1)
    sentence = re.split(r"\.\s", text.splitlines()[0])[0] if text else type(exc).__name__
    return sentence if len(sentence) <= 120 else sentence[:120].rsplit(" ", 1)[0] + " …"


def remove_checkpoints(folder: Path) -> None:
    """Drop the run's checkpoint and any plugin's ``*.pt`` checkpoint: the record is final."""
    for path in folder.glob("*.pt"):
        path.unlink(missing_ok=True)


def run_dir(root: Path, method: str, space: str, dataset: str, config_hash: str, seed: int) -> Path:
    return root / method / f"{space}-{dataset}" / config_hash / f"seed-{seed}"


def read_json(path: Path, what_to_do: str) -> Any:
    """A JSON file, or one line naming it and ``what_to_do`` when it is not one."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{path} is not valid JSON ({exc}); {what_to_do}") from None
    except OSError as exc:
        raise CorruptFile(f"{path} cannot be read ({exc.strerror}); {what_to_do}") from None


def check_record(record: Any, path: Path, what_to_do: str) -> dict[str, Any]:
    """The record if it has the shape reports rely on: a status, the names of its table row, an
    integer seed, numbers where numbers belong."""
    if not isinstance(record, dict):
        raise CorruptFile(f"{path} holds a {type(record).__name__}, not a run record; {what_to_do}")
    if record.get("status") not in STATUSES:
        raise CorruptFile(f"{path} has no valid status (got {record.get('status')!r}, expected finished or failed); "
                          f"{what_to_do}")
    for key in NAME_FIELDS:
        if not isinstance(record.get(key), str) or not record[key]:
            raise CorruptFile(f"{path}: {key} must be a name, got {record.get(key)!r}; {what_to_do}")
    seed = record.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CorruptFile(f"{path}: seed must be an integer ≥ 0, got {seed!r}; {what_to_do}")
    for key in NUMBER_FIELDS:
        value = record.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise CorruptFile(f"{path}: {key} = {value!r} is not a number; {what_to_do}")
    metrics = record.get("metrics", {})
    if not isinstance(metrics, dict):
        raise CorruptFile(f"{path}: metrics must be a table of numbers, got {metrics!r}; {what_to_do}")
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value):
            raise CorruptFile(f"{path}: metric {key} = {value!r} is not a number; {what_to_do}")
    return record


def read_record(folder: Path, what_to_do: str = "run again with --retry-failed to redo this seed") -> dict[str, Any] | None:
    """The seed's record, None when it has none yet; a corrupt one is a ``CorruptFile``."""
    path = folder / RECORD
    if not path.exists():
        return None
    return check_record(read_json(path, what_to_do), path, what_to_do)

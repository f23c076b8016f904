"""Reading run folders back as tables: one row per run, or one row per epoch of every run.

A seed whose files are damaged (unreadable JSON, a record without a status, a metric that
is not a number, a trajectory cut mid-line) is left out with a note naming the file, so
one bad folder does not stop a table, a regression check or a plot.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from harness.api.errors import UserError
from harness.store.run_folder import RECORD, TRAJECTORY, CorruptFile, check_record, read_json

RUN_FOLDER = re.compile(r"seed-\d+")
SKIP_HINT = "this seed is left out (rerun it with --retry-failed, or delete its folder)"


def record_paths(root: Path) -> list[Path]:
    """Every run folder's ``record.json`` under ``root`` (a results folder, or one run folder).

    Only ``seed-<k>`` folders count: a logger's copy of a record (MLflow keeps one as an
    artifact under ``RESULTS/mlruns``) is not another seed.
    """
    if not root.exists():
        raise UserError(f"results folder {root} does not exist; run `nasbench run ...` first or pass the right path")
    if not root.is_dir():
        raise UserError(f"{root} is a file; pass a results folder (e.g. results/runs)")
    return sorted(path for path in root.rglob(RECORD) if RUN_FOLDER.fullmatch(path.parent.name))


def _read(path: Path, notes: list[str] | None) -> dict | None:
    try:
        return check_record(read_json(path, SKIP_HINT), path, SKIP_HINT)
    except CorruptFile as exc:
        if notes is None:
            raise
        notes.append(exc.message)
        return None


def load_records(root: Path, include_failed: bool = False, notes: list[str] | None = None) -> pd.DataFrame:
    """One row per run: identifying columns, scalar fields and every metric as a column.

    Damaged records are skipped with a line added to ``notes``; without a ``notes`` list
    the first one is an error.
    """
    rows = []
    for path in record_paths(root):
        record = _read(path, notes)
        if record is None or (record.get("status") != "finished" and not include_failed):
            continue
        row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
        row.update(record.get("metrics", {}))
        optimizer = record.get("optimizer", {})
        row.update({f"optimizer/{k}": v for k, v in (optimizer.items() if isinstance(optimizer, dict) else [])
                    if isinstance(v, (int, float))})
        environment = record.get("versions")
        row.update({f"versions.{k}": str(v) for k, v in (environment.items() if isinstance(environment, dict) else [])})
        row["path"] = str(path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


NUMBER_COLUMNS = frozenset({"epoch", "skip_connect", "train_loss", "train_acc", "valid_acc", "valid_loss", "lr",
                            "seconds", "images_per_second", "hessian_eigenvalue"})
"""The trajectory's own numeric columns; metrics (``cifar10/test_acc``, ``opt/sigma_mean``) are numbers too,
while a space's description of the architecture (``arch``, NB101's ``nb101_spec``) may be text."""


def no_trajectories(root: Path) -> str:
    """Why ``root`` has no trajectory to show: seeds still running (or interrupted), or none at all."""
    unfinished = [path.parent for path in root.rglob(TRAJECTORY)
                  if RUN_FOLDER.fullmatch(path.parent.name) and not (path.parent / RECORD).exists()]
    if unfinished:
        return (f"no finished run under {root}: {len(unfinished)} seed(s) have epochs but no record yet (still "
                "running, or interrupted: the same command finishes them)")
    return f"no readable trajectories under {root}; methods that search nothing (random, zero-cost) write none"


def csv_damage(text: str) -> str | None:
    """What shows that a CSV this harness writes whole was cut or edited: no text, a last line without
    its end (a cut value would read as a real one), or rows with another number of fields than the header."""
    if not text:
        return "is empty"
    if not text.endswith("\n"):
        return "is cut off (its last line has no end)"
    rows = list(csv.reader(io.StringIO(text)))
    ragged = [number for number, row in enumerate(rows[1:], start=2) if len(row) != len(rows[0])]
    return f"has rows {ragged} with another number of fields than its header" if ragged else None


def read_trajectory(path: Path) -> pd.DataFrame:
    """A ``trajectory.csv`` whose every row is complete; a cut or garbled file is a ``CorruptFile``."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFile(f"{path} cannot be read ({exc}); {SKIP_HINT}") from None
    if (damage := csv_damage(text)) is not None:
        raise CorruptFile(f"{path} {damage}; {SKIP_HINT}")
    frame = pd.read_csv(io.StringIO(text))
    if "epoch" not in frame or (len(frame) and not pd.api.types.is_numeric_dtype(frame["epoch"])):
        raise CorruptFile(f"{path} has no numeric epoch column; {SKIP_HINT}")
    for column in [c for c in frame.columns if "/" in str(c) or c in NUMBER_COLUMNS]:
        garbled = pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()
        if garbled.any():
            raise CorruptFile(f"{path} has a value that is not a number in column {column} "
                              f"(row {int(garbled.to_numpy().argmax()) + 2}); {SKIP_HINT}")
    return frame


def load_trajectories(root: Path, notes: list[str] | None = None) -> pd.DataFrame:
    """All epochs of all runs under ``root``, with method/space/dataset/seed columns added."""
    frames = []
    for path in record_paths(root):
        record = _read(path, notes)
        trajectory = path.parent / TRAJECTORY
        if record is None or not trajectory.exists():  # methods that search nothing write none
            continue
        try:
            frame = read_trajectory(trajectory)
        except CorruptFile as exc:
            if notes is None:
                raise
            notes.append(exc.message)
            continue
        if frame.empty:  # a header and no epoch yet: nothing to plot or tabulate
            continue
        for key in ("method", "space", "dataset", "seed", "status"):
            frame[key] = record.get(key)
        frame["label"] = record.get("label") or record.get("method")
        frame["path"] = str(path.parent)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

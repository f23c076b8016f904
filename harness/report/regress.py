"""CI regression gate: current results against a committed per-seed baseline.

A metric regresses when its mean drops by more than ``tolerance`` (metric units, e.g.
accuracy points) *and* a one-sided Welch t-test says the drop is unlikely to be seed
noise (p < alpha). With fewer than 3 seeds on a side the test has no power, so the
tolerance alone decides, and the report says so. Every baseline metric is taken as
higher-is-better (the baseline holds accuracies, see ``tables.baseline_frame``).

When the results were made in the baseline's recorded environment (``environment.py``),
seeded runs reproduce the baseline bit for bit, so the gate also compares per seed,
exactly: a value that moved at all is CHANGED, a seed with no current value MISSING SEEDS, and either fails, however
small the move and even if every method moved alike. After an intended change in results, remake the baseline.
A key (label, method, space, dataset) whose runs were made with other settings than the
baseline's (``settings.py``) fails as SETTINGS instead of reading as a regression.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.api.errors import UserError
from harness.report.environment import differences, environment_path
from harness.report.settings import settings_key
from harness.report.stats import clean, welch_p
from harness.report.tables import BASELINE_COLUMNS, KEYS, baseline_frame, failure_notes, markdown_grid, split_records
from harness.store.records import csv_damage

MIN_SEEDS_FOR_TEST = 3
EXACT_TOLERANCE = 1e-9
"""How far a per-seed value may move in the exact check: round-off of the CSV round trip, nothing more."""


@dataclass
class Comparison:
    """One line per baseline key and metric, plus notes; ``failed`` decides the exit code."""

    lines: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return int(self.lines["failed"].sum())

    @property
    def failed(self) -> bool:
        return self.failures > 0


def read_baseline(path: Path) -> pd.DataFrame:
    """The baseline CSV written by ``nasbench table --format baseline``."""
    if not path.exists():
        raise UserError(f"baseline {path} does not exist; create it with "
                        f"`nasbench table RESULTS --format baseline --output {path}`")
    if path.is_dir():
        raise UserError(f"baseline {path} is a folder; pass the baseline CSV (from `nasbench table RESULTS "
                        "--format baseline`)")
    try:
        text = path.read_text()
        frame = pd.read_csv(io.StringIO(text), dtype={key: str for key in KEYS}, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"baseline {path} is not a readable CSV ({exc}); regenerate it with "
                        "`nasbench table RESULTS --format baseline`") from None
    if (damage := csv_damage(text)) is not None:
        raise UserError(f"baseline {path} {damage}; regenerate it with `nasbench table RESULTS --format baseline`")
    missing = [c for c in BASELINE_COLUMNS if c not in frame]
    if missing or frame.empty:
        raise UserError(f"baseline {path} lacks columns {missing or BASELINE_COLUMNS} or rows; "
                        "regenerate it with `nasbench table RESULTS --format baseline`")
    values = pd.to_numeric(frame["value"], errors="coerce")
    if values.isna().any():
        raise UserError(f"baseline {path} has non-numeric values in rows {list(frame.index[values.isna()] + 2)}")
    seeds = pd.to_numeric(frame["seed"], errors="coerce")
    bad_seeds = seeds.isna() | (seeds % 1 != 0)
    if bad_seeds.any():
        raise UserError(f"baseline {path} has seeds that are not integers in rows {list(frame.index[bad_seeds] + 2)}")
    frame = frame.assign(value=values, seed=seeds.astype(int))
    repeated = frame.duplicated([*KEYS, "metric", "seed"], keep="first")
    if repeated.any():
        raise UserError(f"baseline {path} lists a seed's metric twice in rows {list(frame.index[repeated] + 2)}; "
                        "regenerate it with `nasbench table RESULTS --format baseline`")
    return frame


def _current_values(records: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    finished, _ = split_records(records)
    present = [m for m in metrics if m in finished]
    if finished.empty or not present:
        return pd.DataFrame(columns=BASELINE_COLUMNS)
    return baseline_frame(finished, present)


def _key_text(key: tuple) -> str:
    label, method, space, dataset, metric = key
    return f"{label} [{method}, {space}-{dataset}] {metric}"


def exactness(baseline_path: Path, baseline_env: dict[str, str] | None, current_env: dict[str, str],
              require: bool = False) -> tuple[bool, str]:
    """(compare per seed exactly?, the note saying why); with ``require``, a mismatch is an error."""
    if baseline_env is None:
        reason = f"the baseline records no environment ({environment_path(baseline_path)} is missing)"
    elif found := differences(baseline_env, current_env):
        reason = "the environment differs from the baseline's: " + "; ".join(found)
    else:
        shown = ", ".join(f"{key} {value}" for key, value in baseline_env.items())
        return True, f"same environment as the baseline ({shown}): every per-seed value must reproduce it exactly"
    if require:
        raise UserError(f"--require-pinned: {reason}; run in the baseline's environment or remake the baseline "
                        "there with `nasbench table RESULTS --format baseline --output FILE`")
    return False, f"{reason}: no exact per-seed check, the statistical check alone decides"


def _changed_seeds(old: pd.DataFrame, new: pd.DataFrame | None) -> tuple[list[str], list[int]]:
    """(baseline seeds whose current value moved, as 'seed k: old → new'; seeds with no current value).

    A missing seed fails the exact check too: whether its run failed, its record is damaged or
    it was not run, its baseline value was not reproduced.
    """
    current = {} if new is None else dict(zip(new["seed"].astype(int), new["value"]))
    changed, missing = [], []
    for seed, value in zip(old["seed"].astype(int), old["value"]):
        now = current.get(seed)
        if now is None:
            missing.append(int(seed))
        elif not math.isclose(now, value, rel_tol=0.0, abs_tol=EXACT_TOLERANCE):
            changed.append(f"seed {seed}: {value:.6g} → {now:.6g}")
    return changed, missing


def compare(baseline: pd.DataFrame, records: pd.DataFrame, tolerance: float = 1.0, alpha: float = 0.05,
            exact: bool = False, other_settings: dict[str, list[str]] | None = None) -> Comparison:
    """Check every baseline key and metric against the current records (per seed too, when ``exact``).

    ``other_settings``: per ``settings.settings_key``, how its current runs' settings differ from
    the baseline's (``settings.settings_changes``); its lines fail as SETTINGS, whatever the values.
    """
    current = _current_values(records, sorted(baseline["metric"].unique()))
    key_columns = [*KEYS, "metric"]
    current_groups = {key: group for key, group in current.groupby(key_columns)}
    lines, notes = [], []
    missing_seeds: dict[tuple, list[str]] = {}
    few_seeds: dict[tuple, list[str]] = {}
    other_settings = other_settings or {}
    for run_key, changes in sorted(other_settings.items()):
        notes.append(f"{run_key} was made with other settings than the baseline: {'; '.join(changes)}; its values "
                     "are not compared (run with the baseline's settings, or remake the baseline)")
    for key, group in baseline.groupby(key_columns, sort=True):
        if settings_key(*key[:4]) in other_settings:
            old = clean(group["value"])
            lines.append({**dict(zip(key_columns, key)), "baseline_mean": old.mean(), "baseline_std": _std(old),
                          "baseline_n": len(old),
                          "current_mean": math.nan, "current_std": math.nan, "current_n": 0, "delta": math.nan,
                          "p": math.nan, "verdict": "SETTINGS", "failed": True})
            continue
        old = clean(group["value"])
        new = clean(current_groups[key]["value"] if key in current_groups else [])
        line = dict(zip(key_columns, key), baseline_mean=old.mean(), baseline_std=_std(old), baseline_n=len(old),
                    current_mean=math.nan, current_std=math.nan, current_n=len(new), delta=math.nan, p=math.nan)
        if len(new) == 0:
            lines.append({**line, "verdict": "MISSING", "failed": True})
            notes.append(f"missing in current results: {_key_text(key)}")
            continue
        delta = new.mean() - old.mean()
        line.update(current_mean=new.mean(), current_std=_std(new), delta=delta)
        beyond = delta < -tolerance
        if len(old) < MIN_SEEDS_FOR_TEST or len(new) < MIN_SEEDS_FOR_TEST:
            few_seeds.setdefault((*key[:4], len(old), len(new)), []).append(key[4])
            failed = beyond
        else:
            line["p"] = welch_p(new, old, alternative="less")
            failed = beyond and line["p"] < alpha
        verdict = "REGRESSION" if failed else ("worse, not significant" if beyond else "ok")
        changed, missing = _changed_seeds(group, current_groups.get(key)) if exact else ([], [])
        if missing:
            missing_seeds.setdefault((*key[:4], tuple(missing)), []).append(key[4])
        if changed:
            notes.append(f"{_key_text(key)} differs from the baseline: " + ", ".join(changed))
        if changed or missing:
            verdict = verdict if failed else ("CHANGED" if changed else "MISSING SEEDS")
            failed = True
        lines.append({**line, "verdict": verdict, "failed": bool(failed)})
    for (label, method, space, dataset, before, now), metrics in few_seeds.items():  # one line per run, not per metric
        notes.append(f"{label} [{method}, {space}-{dataset}]: {before} baseline / {now} current seeds "
                     f"(< {MIN_SEEDS_FOR_TEST}) for {len(metrics)} metric(s), no t-test; the tolerance alone decides")
    for (label, method, space, dataset, seeds), metrics in missing_seeds.items():
        notes.append(f"{label} [{method}, {space}-{dataset}]: baseline seed(s) {', '.join(map(str, seeds))} have no "
                     f"current value for {len(metrics)} metric(s) (failed, unreadable or not run), so they did not "
                     "reproduce the baseline")
    extra = sorted(set(current_groups) - set(baseline.groupby(key_columns).groups))
    notes += [f"not in the baseline (not checked): {_key_text(key)}" for key in extra]
    notes += failure_notes(split_records(records)[1])
    return Comparison(pd.DataFrame(lines), notes)


def _std(values) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _mean_std(mean: float, std: float, n: int) -> str:
    if n == 0:
        return "–"
    return (f"{mean:.2f}" if math.isnan(std) else f"{mean:.2f}±{std:.2f}") + f" (n={n})"


def report(comparison: Comparison, tolerance: float, alpha: float) -> str:
    """The delta table, the notes and a one-line verdict, as printed by ``nasbench regress``."""
    header = ["label", "method", "space-dataset", "metric", "baseline", "current", "delta", "p (less)", "verdict"]
    body = [[row["label"], row["method"], f"{row['space']}-{row['dataset']}", row["metric"],
             _mean_std(row["baseline_mean"], row["baseline_std"], row["baseline_n"]),
             _mean_std(row["current_mean"], row["current_std"], row["current_n"]),
             "–" if math.isnan(row["delta"]) else f"{row['delta']:+.2f}",
             "–" if math.isnan(row["p"]) else f"{row['p']:.3g}", row["verdict"]]
            for _, row in comparison.lines.iterrows()]
    rule = (f"regression = current mean < baseline mean − {tolerance:g} and one-sided Welch p < {alpha:g} "
            f"(tolerance alone with < {MIN_SEEDS_FOR_TEST} seeds); means ± sample std (ddof=1)")
    checks = len(comparison.lines)
    verdict = (f"FAIL: {comparison.failures} of {checks} checks failed" if comparison.failed
               else f"OK: {checks} checks, no regression")
    return "\n".join([markdown_grid(header, body, left=4), "", rule, *[f"note: {n}" for n in comparison.notes], verdict]) + "\n"

"""Weights & Biases: one W&B run per nasbench run, project ``$WANDB_PROJECT`` or ``nasbench``.

The config (nested, as in ``config.json``) is the run's config, each trajectory row is
logged at step = epoch, the record's metrics go to the summary as ``final/...`` with the
record's status and architecture. Local files go under ``RESULTS/wandb``;
``WANDB_MODE=offline`` needs no account (``wandb sync RESULTS/wandb/offline-run-*`` uploads later).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness import RunContext, RunLogger, UserError, numeric_items, run_name

PROJECT = "nasbench"


class WandbLogger(RunLogger):
    name = "wandb"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        try:
            import wandb
        except ImportError:
            raise UserError("--logger wandb needs the wandb package: pip install 'nasbench[wandb]'") from None
        self._wandb = wandb
        self._runs: dict[Path, Any] = {}

    def start(self, run: RunContext) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._runs[run.out_dir] = self._wandb.init(
            project=os.environ.get("WANDB_PROJECT") or PROJECT, name=run_name(run), dir=str(self.root),
            config=run.config, group="/".join(run.out_dir.parts[-4:-1]), job_type="search")

    def epoch(self, run: RunContext, row: dict[str, Any]) -> None:
        values = {key: value for key, value in numeric_items(row).items() if key != "epoch"}
        self._runs[run.out_dir].log(values, step=int(row["epoch"]))

    def end(self, run: RunContext, record: dict[str, Any]) -> None:
        current = self._runs.pop(run.out_dir)
        current.summary.update({f"final/{key}": value for key, value in numeric_items(record.get("metrics", {})).items()})
        current.summary.update({"status": record.get("status"), "arch": record.get("arch")})
        current.finish(exit_code=0 if record.get("status") == "finished" else 1)

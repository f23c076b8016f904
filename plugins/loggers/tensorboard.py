"""TensorBoard: one event-file folder per run, ``RESULTS/tensorboard/<method>/<space-dataset>/<hash>/seed-<k>``.

Per-epoch scalars are the trajectory row's numbers at step = epoch; the config goes in
as text (``config``) and as hyper-parameters; the final record's metrics are scalars
under ``final/`` plus the whole record as text. ``tensorboard --logdir RESULTS/tensorboard``
shows every run of a results folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import RunContext, RunLogger, UserError, flat_items, numeric_items, run_name


class TensorBoardLogger(RunLogger):
    name = "tensorboard"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("--logger tensorboard needs the tensorboard package: pip install 'nasbench[tensorboard]'") from None
        self._writer_class = SummaryWriter
        self._writers: dict[Path, Any] = {}

    def log_dir(self, run: RunContext) -> Path:
        return self.root / "tensorboard" / run_name(run)

    def start(self, run: RunContext) -> None:
        writer = self._writer_class(log_dir=str(self.log_dir(run)))
        self._writers[run.out_dir] = writer
        writer.add_text("config", f"```\n{json.dumps(run.config, indent=2, sort_keys=True, default=str)}\n```")
        hparams = {key: value if isinstance(value, (int, float, str, bool)) else str(value)
                   for key, value in flat_items(run.config).items()}
        writer.add_hparams(hparams, {}, run_name=".")

    def epoch(self, run: RunContext, row: dict[str, Any]) -> None:
        writer = self._writers[run.out_dir]
        step = int(row["epoch"])
        for key, value in numeric_items(row).items():
            if key != "epoch":
                writer.add_scalar(key, value, step)
        writer.flush()

    def end(self, run: RunContext, record: dict[str, Any]) -> None:
        writer = self._writers.pop(run.out_dir)
        step = int(record.get("epochs") or 0)
        for key, value in numeric_items(record.get("metrics", {})).items():
            writer.add_scalar(f"final/{key}", value, step)
        writer.add_text("record", f"```\n{json.dumps(record, indent=2, sort_keys=True, default=str)}\n```", step)
        writer.close()

"""MLflow: one MLflow run per nasbench run, in experiment ``nasbench`` (or ``$MLFLOW_EXPERIMENT_NAME``).

The tracking URI is ``$MLFLOW_TRACKING_URI`` when set, else the file store
``RESULTS/mlruns`` (``mlflow ui --backend-store-uri RESULTS/mlruns``; MLflow 3 keeps
that store in maintenance mode and asks for ``MLFLOW_ALLOW_FILE_STORE=true``, which this
logger sets for its default only). The config is
logged as parameters, each trajectory row as metrics at step = epoch, the record's
metrics as ``final/...`` and the record itself as the artifact ``record.json``.
MLflow keys allow letters, digits and ``_-./ ``; other characters become ``_``.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from harness import RunContext, RunLogger, UserError, flat_items, numeric_items, run_name

EXPERIMENT = "nasbench"
MAX_PARAM_LENGTH = 500
BATCH = 100
INVALID_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")


def key(name: str) -> str:
    return INVALID_KEY.sub("_", name)


class MlflowLogger(RunLogger):
    name = "mlflow"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        try:
            from mlflow.entities import Metric, Param, RunTag
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise UserError("--logger mlflow needs the mlflow package: pip install 'nasbench[mlflow]'") from None
        self._entities = (Metric, Param, RunTag)
        self.tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or ""
        if not self.tracking_uri:  # the local default: a file store (no database package needed), opted into
            self.tracking_uri = (root.resolve() / "mlruns").as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=self.tracking_uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        experiment = self.client.get_experiment_by_name(name)
        self.experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        self._runs: dict[Path, str] = {}

    def start(self, run: RunContext) -> None:
        _, Param, RunTag = self._entities
        created = self.client.create_run(self.experiment_id, run_name=run_name(run),
                                         tags={"nasbench.folder": str(run.out_dir), "nasbench.resumed": str(run.resumed)})
        run_id = created.info.run_id
        self._runs[run.out_dir] = run_id
        params = [Param(key(k), str(v)[:MAX_PARAM_LENGTH]) for k, v in flat_items(run.config).items()]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(run_id, params=params[start:start + BATCH])

    def epoch(self, run: RunContext, row: dict[str, Any]) -> None:
        self._log_metrics(self._runs[run.out_dir], numeric_items(row), int(row["epoch"]), skip={"epoch"})

    def end(self, run: RunContext, record: dict[str, Any]) -> None:
        run_id = self._runs.pop(run.out_dir)
        metrics = {f"final/{name}": value for name, value in numeric_items(record.get("metrics", {})).items()}
        self._log_metrics(run_id, metrics, int(record.get("epochs") or 0))
        self.client.log_dict(run_id, record, "record.json")
        self.client.set_terminated(run_id, "FINISHED" if record.get("status") == "finished" else "FAILED")

    def _log_metrics(self, run_id: str, values: dict[str, float], step: int, skip: set[str] | None = None) -> None:
        Metric = self._entities[0]
        now = int(time.time() * 1000)
        metrics = [Metric(key(name), value, now, step) for name, value in values.items() if name not in (skip or set())]
        for start in range(0, len(metrics), BATCH):
            self.client.log_batch(run_id, metrics=metrics[start:start + BATCH])

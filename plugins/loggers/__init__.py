"""Experiment loggers for ``--logger``: TensorBoard, MLflow and Weights & Biases (each an optional extra).

Registered as ``"module:Name"`` strings, so a tracker's package is imported only when a
command asks for it; a missing package is one line saying which extra to install.
"""
from __future__ import annotations

from typing import Any

from harness import hookimpl


@hookimpl
def nasbench_register_loggers(register: Any) -> None:
    register("tensorboard", "plugins.loggers.tensorboard:TensorBoardLogger",
             "TensorBoard event files in RESULTS/tensorboard/<run> (pip install 'nasbench[tensorboard]')")
    register("mlflow", "plugins.loggers.mlflow:MlflowLogger",
             "MLflow runs in $MLFLOW_TRACKING_URI, else the file store RESULTS/mlruns (pip install 'nasbench[mlflow]')")
    register("wandb", "plugins.loggers.wandb:WandbLogger",
             "Weights & Biases runs, project $WANDB_PROJECT or nasbench; WANDB_MODE=offline works without an "
             "account (pip install 'nasbench[wandb]')")

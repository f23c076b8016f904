"""The official ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``, read without TensorFlow.

Each record's payload is a JSON list ``[hash, epochs, adjacency bits, ops, metrics]``:
the adjacency is ``V*V`` characters '0'/'1' row by row, the ops are comma-separated,
and the metrics are a base64-encoded ``ModelMetrics`` protobuf whose
``evaluation_data[2]`` is the end of training (``[1]`` halfway, ``[0]`` initialization),
as google-research/nasbench ``nasbench/api.py`` reads them. One record is one run, so
each hash appears three times per epoch budget.
"""
from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

from harness import UserError
from plugins.nb101_benchmark.metrics_proto import parse_model_metrics
from plugins.nb101_benchmark.table import CellRecord, add_run
from plugins.nb101_benchmark.tfrecord import read_records

FINAL = 2


def read_official(path: Path) -> dict[str, CellRecord]:
    """Every cell of an official NB101 TFRecord file, keyed by hash."""
    cells: dict[str, CellRecord] = {}
    for number, payload in enumerate(read_records(path)):
        try:
            module_hash, epochs, _adjacency, _ops, raw_metrics = json.loads(payload.decode("utf-8"))
            metrics = parse_model_metrics(base64.b64decode(raw_metrics))
            final = metrics.evaluation_data[FINAL]
        except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: record {number} is not a NAS-Bench-101 record ({type(exc).__name__}: {exc}); "
                            "expected the official nasbench_only108.tfrecord or nasbench_full.tfrecord") from None
        run = {"final_train_accuracy": final.train_accuracy, "final_validation_accuracy": final.validation_accuracy,
               "final_test_accuracy": final.test_accuracy, "final_training_time": final.training_time}
        add_run(cells, str(module_hash), metrics.trainable_parameters, int(epochs), run)
    if not cells:
        raise UserError(f"{path} holds no records; expected the official NAS-Bench-101 TFRecord file")
    return cells

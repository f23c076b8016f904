"""--logger tensorboard|mlflow|wandb: what each tracker holds, read back with the tracker's own reader."""
from __future__ import annotations

import json
import struct
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from harness import UserError
from harness.cli.main import build_cli
from harness.experiment.loggers import attached_loggers
from harness.plugin.manager import get_plugins

TINY = ["run", "--method", "darts", "--dataset", "synthetic", "--epochs", "2", "--device", "cpu",
        "--set", "space.options.C=4", "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16",
        "--benchmark", "retrain", "--set", "benchmarks.options.retrain.epochs=1",
        "--set", "benchmarks.options.retrain.C=4"]


def run_with(tmp_path, *loggers):
    args = [*TINY, "--results", str(tmp_path)]
    for name in loggers:
        args += ["--logger", name]
    result = CliRunner().invoke(build_cli(), args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (record_path,) = (tmp_path / "darts").rglob("record.json")
    folder = record_path.parent
    trajectory = pd.read_csv(folder / "trajectory.csv")
    return folder, json.loads(record_path.read_text()), json.loads((folder / "config.json").read_text()), trajectory


def numeric_columns(trajectory: pd.DataFrame) -> list[str]:
    return [c for c in trajectory.columns if c != "epoch" and pd.api.types.is_numeric_dtype(trajectory[c])
            and trajectory[c].notna().all()]


def test_tensorboard_event_files_hold_every_epoch_the_config_and_the_record(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, record, config, trajectory = run_with(tmp_path, "tensorboard")
    log_dir = tmp_path / "tensorboard" / "/".join(folder.parts[-4:])
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    columns = numeric_columns(trajectory)
    assert "train_loss" in columns and "valid_acc" in columns
    for column in columns:
        logged = events.Scalars(column)
        assert [e.step for e in logged] == trajectory["epoch"].tolist(), column
        assert [e.value for e in logged] == pytest.approx(trajectory[column].tolist(), rel=1e-6, abs=1e-6), column
    test_acc = events.Scalars("final/synthetic/test_acc")
    assert test_acc[0].value == pytest.approx(record["metrics"]["synthetic/test_acc"], rel=1e-6)
    texts = {tag: events.Tensors(tag)[0].tensor_proto.string_val[0].decode() for tag in ("config/text_summary",
                                                                                      "record/text_summary")}
    assert json.loads(texts["config/text_summary"].strip("`\n")) == config
    assert json.loads(texts["record/text_summary"].strip("`\n"))["arch"] == record["arch"]


def test_mlflow_file_store_holds_params_metrics_and_the_record(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # the logger opts in for its default store
    folder, record, config, trajectory = run_with(tmp_path, "mlflow")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("nasbench")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "/".join(folder.parts[-4:]) and run.info.status == "FINISHED"
    assert run.data.params["search.lr"] == str(config["search"]["lr"])
    assert run.data.params["optimizer.name"] == "darts"
    for column in numeric_columns(trajectory):
        history = sorted(client.get_metric_history(run.info.run_id, column), key=lambda m: m.step)
        assert [m.step for m in history] == trajectory["epoch"].tolist(), column
        assert [m.value for m in history] == pytest.approx(trajectory[column].tolist(), rel=1e-9), column
    assert run.data.metrics["final/synthetic/test_acc"] == pytest.approx(record["metrics"]["synthetic/test_acc"])
    stored = client.download_artifacts(run.info.run_id, "record.json", str(tmp_path / "download"))
    assert json.loads(open(stored).read())["arch"] == record["arch"]


def test_unknown_logger_is_one_line(tmp_path):
    result = CliRunner().invoke(build_cli(), [*TINY, "--results", str(tmp_path), "--logger", "tensorbored"])
    assert result.exit_code == 2
    assert "unknown logger 'tensorbored' (did you mean tensorboard?); known: mlflow, tensorboard, wandb" in result.output


@pytest.mark.parametrize("name, package", [("tensorboard", "torch.utils.tensorboard"), ("mlflow", "mlflow.tracking"),
                                           ("wandb", "wandb")])
def test_missing_extra_says_what_to_install(tmp_path, monkeypatch, name, package):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(UserError, match=rf"pip install 'nasbench\[{name}\]'"):
        with attached_loggers(get_plugins(), [name], tmp_path):
            pass


def wandb_records(path):
    """The records of an offline ``.wandb`` file (a LevelDB-style log of protobuf records, 32 KiB blocks)."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, pending, records = path.read_bytes(), 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            break
        pending, pos = pending + data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def item_key(item):
    return item.key or "/".join(item.nested_key)


def test_wandb_offline_run_holds_config_history_and_summary(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    folder, record, config, trajectory = run_with(tmp_path, "wandb")
    (log,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    records = wandb_records(log)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.display_name == "/".join(folder.parts[-4:]) and run.project == "nasbench"
    logged_config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert logged_config["search"] == config["search"] and logged_config["method"] == "darts"
    history = [{item_key(i): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history] == trajectory["epoch"].tolist()
    for column in numeric_columns(trajectory):
        assert [h[column] for h in history] == pytest.approx(trajectory[column].tolist(), rel=1e-9), column
    summary = {item_key(i): json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "summary"
               for i in r.summary.update}
    assert summary["final/synthetic/test_acc"] == pytest.approx(record["metrics"]["synthetic/test_acc"])
    assert summary["status"] == "finished" and summary["arch"] == record["arch"]

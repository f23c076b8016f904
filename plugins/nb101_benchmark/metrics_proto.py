"""The ``ModelMetrics`` protobuf of NAS-Bench-101, decoded from the wire format by hand.

Layout (google-research/nasbench ``nasbench/lib/model_metrics.proto``, proto2)::

    ModelMetrics   { repeated EvaluationData evaluation_data = 1; int32 trainable_parameters = 2;
                     double total_time = 3; }
    EvaluationData { double current_epoch = 1; double training_time = 2; double train_accuracy = 3;
                     double validation_accuracy = 4; double test_accuracy = 5; string checkpoint_path = 6; }

Two small messages do not justify generated code and a protobuf dependency; unknown
fields are skipped as the wire format allows.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from harness import UserError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


@dataclass
class Evaluation:
    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0


@dataclass
class ModelMetrics:
    evaluation_data: list[Evaluation] = field(default_factory=list)
    trainable_parameters: int = 0
    total_time: float = 0.0


_EVALUATION_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
                      5: "test_accuracy"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field; doubles stay raw 8-byte values."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == FIXED64:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == FIXED32:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        out.append((number, wire, value))
    return out


def _double(value: int | bytes) -> float:
    assert isinstance(value, bytes)
    return float(struct.unpack("<d", value)[0])


def parse_model_metrics(data: bytes) -> ModelMetrics:
    """Decode a serialized ``ModelMetrics``; a malformed message is a ``UserError``."""
    try:
        metrics = ModelMetrics()
        for number, wire, value in _fields(data):
            if number == 1 and wire == LENGTH:
                assert isinstance(value, bytes)
                metrics.evaluation_data.append(_parse_evaluation(value))
            elif number == 2 and wire == VARINT:
                assert isinstance(value, int)
                metrics.trainable_parameters = value - (1 << 64) if value >= 1 << 63 else value
            elif number == 3 and wire == FIXED64:
                metrics.total_time = _double(value)
        return metrics
    except (ValueError, struct.error, AssertionError) as exc:
        raise UserError(f"malformed NAS-Bench-101 ModelMetrics message ({exc})") from None


def _parse_evaluation(data: bytes) -> Evaluation:
    evaluation = Evaluation()
    for number, wire, value in _fields(data):
        name = _EVALUATION_FIELDS.get(number)
        if name is not None and wire == FIXED64:
            setattr(evaluation, name, _double(value))
    return evaluation

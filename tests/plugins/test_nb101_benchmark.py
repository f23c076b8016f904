"""The nb101 benchmark: the official TFRecord reader (on a file written here), NASLib's pickle, caches, CLI."""
from __future__ import annotations

import base64
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from nb101_fixture import dummy_cells, dummy_path

import plugins.nb101_benchmark.location as location
from harness import BenchmarkContext, BenchmarkUnavailable, UserError
from harness.cli.main import build_cli
from plugins.nb101.space import NB101Space
from plugins.nb101.spec import Spec
from plugins.nb101_benchmark import NB101Benchmark
from plugins.nb101_benchmark.tfrecord import crc32c_python, masked_crc

# --- a writer of the official format, independent of the reader ------------------------------------------

def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _evaluation(epoch: float, time: float, train: float, valid: float, test: float) -> bytes:
    fields = b"".join(_key(n, 1) + struct.pack("<d", v) for n, v in enumerate((epoch, time, train, valid, test), 1))
    return fields + _key(6, 2) + _varint(len(b"ckpt")) + b"ckpt"


def _model_metrics(params: int, run: dict[str, float], epochs: int) -> bytes:
    evaluations = [
        _evaluation(0, 0, 0.1, 0.1, 0.1),
        _evaluation(epochs / 2, run["halfway_training_time"], run["halfway_train_accuracy"],
                    run["halfway_validation_accuracy"], run["halfway_test_accuracy"]),
        _evaluation(epochs, run["final_training_time"], run["final_train_accuracy"],
                    run["final_validation_accuracy"], run["final_test_accuracy"]),
    ]
    body = b"".join(_key(1, 2) + _varint(len(e)) + e for e in evaluations)
    return body + _key(2, 0) + _varint(params) + _key(3, 1) + struct.pack("<d", 1234.5)


def _frame(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked_crc(length)) + payload + struct.pack("<I", masked_crc(payload))


def write_official(path: Path, cells: dict, with_short_budget: bool = False) -> None:
    """The 30 fixture cells as official records (one per run); optionally a 4-epoch budget made of their halfway values."""
    with path.open("wb") as stream:
        for module_hash, (fixed, computed) in cells.items():
            matrix = np.asarray(fixed["module_adjacency"])
            adjacency = "".join(str(int(v)) for v in matrix.flatten())
            ops = ",".join(fixed["module_operations"])
            budgets = [(108, computed[108])]
            if with_short_budget:
                budgets.append((4, [{**run, **{k.replace("halfway", "final"): v for k, v in run.items()
                                                if k.startswith("halfway")}} for run in computed[108]]))
            for epochs, runs in budgets:
                for run in runs:
                    raw = base64.b64encode(_model_metrics(fixed["trainable_parameters"], run, epochs)).decode()
                    stream.write(_frame(json.dumps([module_hash, epochs, adjacency, ops, raw]).encode()))


def _expected(runs: list[dict], key: str, scale: float = 100.0) -> float:
    return scale * float(np.mean([run[key] for run in runs]))


def _spec_string(fixed: dict) -> str:
    space = NB101Space()
    return space.format(Spec.of(fixed["module_adjacency"], fixed["module_operations"]).to_arch())


# --- tests -------------------------------------------------------------------------------------------------

def test_crc32c_check_values():
    assert crc32c_python(b"123456789") == 0xE3069283
    assert crc32c_python(bytes(32)) == 0x8A9136AA


def test_official_tfrecord_is_read_back_through_the_real_reader(tmp_path):
    cells = dummy_cells()
    path = tmp_path / "nasbench_full.tfrecord"
    write_official(path, cells, with_short_budget=True)
    bench = NB101Benchmark({"file": str(path)}, None)
    space = NB101Space()
    for fixed, computed in cells.values():
        arch = space.parse(_spec_string(fixed))
        metrics = bench.query(space, arch)
        runs = computed[108]
        assert metrics["cifar10-nb101/test_acc"] == pytest.approx(_expected(runs, "final_test_accuracy"))
        assert metrics["cifar10-nb101/valid_acc"] == pytest.approx(_expected(runs, "final_validation_accuracy"))
        assert metrics["cifar10-nb101/train_acc"] == pytest.approx(_expected(runs, "final_train_accuracy"))
        assert metrics["cifar10-nb101/train_time"] == pytest.approx(_expected(runs, "final_training_time", 1.0))
        assert metrics["cifar10-nb101/params"] == fixed["trainable_parameters"]
        assert metrics["cifar10-nb101/test_acc@4"] == pytest.approx(_expected(runs, "halfway_test_accuracy"))
    assert bench.headline_metrics() == ["cifar10-nb101/valid_acc", "cifar10-nb101/test_acc"]
    best = max(_expected(c[108], "final_test_accuracy") for _, c in cells.values())
    assert bench.optimum("cifar10-nb101/test_acc") == pytest.approx(best)


def test_corrupted_tfrecord_is_one_clear_line(tmp_path):
    path = tmp_path / "nasbench_only108.tfrecord"
    write_official(path, dict(list(dummy_cells().items())[:2]))
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="CRC does not match"):
        NB101Benchmark({"file": str(path)}, None).query(NB101Space(), NB101Space().parse("011,001,000|conv3x3"))
    path.write_bytes(bytes(data[:30]))
    location._load_source.cache_clear()
    with pytest.raises(UserError, match="ends inside a record"):
        assert NB101Benchmark({"file": str(path)}, None).table is None


def test_the_30_fixture_cells_come_back_through_nasbench_query():
    runner = CliRunner()
    cli = build_cli()
    for module_hash, (fixed, computed) in dummy_cells().items():
        result = runner.invoke(cli, ["query", _spec_string(fixed), "--space", "nb101", "--benchmark", "nb101",
                                     "--benchmark-file", str(dummy_path())])
        assert result.exit_code == 0, result.output
        lines = dict(line.split(None, 1) for line in result.output.strip().splitlines())
        assert lines["nb101_hash"] == module_hash
        assert float(lines["cifar10-nb101/test_acc"]) == pytest.approx(_expected(computed[108], "final_test_accuracy"),
                                                                 abs=1e-4)
        assert lines["cifar10-nb101/params"] == str(fixed["trainable_parameters"])  # a count, printed as one


def test_an_unknown_pickle_needs_trust(tmp_path, monkeypatch):
    copy = tmp_path / "nb101_full.pickle"
    copy.write_bytes(dummy_path().read_bytes() + b"\n")  # trailing bytes: same content, different checksum
    arch = NB101Space().parse(_spec_string(next(iter(dummy_cells().values()))[0]))
    with pytest.raises(UserError, match="unknown checksum"):
        NB101Benchmark({"file": str(copy)}, None).query(NB101Space(), arch)
    assert NB101Benchmark({"file": str(copy), "trust": True}, None).query(NB101Space(), arch)


def test_compact_cache_spares_the_second_read(tmp_path, monkeypatch):
    path = tmp_path / "nasbench_only108.tfrecord"
    cells = dict(list(dummy_cells().items())[:3])
    write_official(path, cells)
    space = NB101Space()
    arch = space.parse(_spec_string(next(iter(cells.values()))[0]))
    first = NB101Benchmark({"file": str(path)}, None).query(space, arch)
    assert list((location.nasbench_home() / "cache").glob("nb101-*.npz"))
    location._load_source.cache_clear()

    def no_reading(path: Path) -> None:
        raise AssertionError("the official file was read again")

    monkeypatch.setattr(location, "read_official", no_reading)
    assert NB101Benchmark({"file": str(path)}, None).query(space, arch) == first


def test_import_makes_the_table_the_default(tmp_path):
    with pytest.raises(BenchmarkUnavailable, match="no NAS-Bench-101 file"):
        NB101Benchmark({}, None)
    source = tmp_path / "nasbench_only108.tfrecord"
    write_official(source, dummy_cells())
    result = CliRunner().invoke(build_cli(), ["nb101", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "imported 30 cells" in result.output
    source.unlink()
    bench = NB101Benchmark({}, BenchmarkContext(NB101Space()))
    assert bench.origin == "the imported table"
    fixed, computed = next(iter(dummy_cells().values()))
    got = bench.query(NB101Space(), NB101Space().parse(_spec_string(fixed)))
    assert got["cifar10-nb101/valid_acc"] == pytest.approx(_expected(computed[108], "final_validation_accuracy"))
    info = CliRunner().invoke(build_cli(), ["nb101", "info"])
    assert "cells: 30" in info.output


def test_a_cell_missing_from_a_partial_file_gives_no_metrics():
    bench = NB101Benchmark({"file": str(dummy_path())}, None)
    assert bench.query(NB101Space(), NB101Space().parse("011,001,000|conv3x3")) == {}
    result = CliRunner().invoke(build_cli(), ["query", "011,001,000|conv3x3", "--space", "nb101", "--benchmark",
                                              "nb101", "--benchmark-file", str(dummy_path())])
    assert result.exit_code == 2 and "nb101_hash" in result.output
    assert "Error: the nb101 table has no metrics for this architecture (a partial table" in result.output


def test_wrong_file_type_is_one_clear_line(tmp_path):
    other = tmp_path / "table.csv"
    shutil.copy(dummy_path(), other)
    with pytest.raises(UserError, match="unknown NAS-Bench-101 file type"):
        assert NB101Benchmark({"file": str(other)}, None).table is None


def test_a_cache_of_another_format_is_a_clear_line(tmp_path):
    stale = tmp_path / "old.npz"
    np.savez_compressed(stale, hashes=np.array(["ff92c322c5d9d3d587d9c146a63d0807"], dtype="U32"),
                        names=np.array(["cifar10/test_acc"]), values=np.zeros((1, 1)))
    with pytest.raises(UserError, match="compact NB101 table"):
        assert NB101Benchmark({"file": str(stale)}, None).table is None

"""Run folders that cannot run code, files with the usual modes, and writes that fail in one line."""
from __future__ import annotations

import errno
import os
import pickle

import numpy as np
import pytest
import torch

from harness import UserError
from harness.store import run_folder
from harness.store.run_folder import (
    CorruptFile,
    atomic_write_bytes,
    load_checkpoint,
    plain,
    prepare_root,
    save_checkpoint,
    write_json,
)


class RunsCode:
    """Unpickling this creates a marker file: what a crafted checkpoint would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_malicious_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 1, "payload": RunsCode(str(marker))}, path)
    with pytest.raises(CorruptFile) as error:
        load_checkpoint(path)
    assert not marker.exists()
    assert error.value.message == (f"{path} is not a checkpoint this harness can load safely (it holds "
                                   "io.open, which could run code when loaded); delete it to start this seed over")
    torch.load(path, weights_only=False)["payload"].close()  # the same file does run code when loaded unsafely
    assert marker.exists()


def test_a_plain_pickle_is_refused_too(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(pickle.dumps(RunsCode(str(marker))))
    with pytest.raises(CorruptFile, match="not a checkpoint this harness can load safely"):
        load_checkpoint(path)
    assert not marker.exists()


def test_checkpoints_round_trip_numpy_and_generator_state_as_tensors(tmp_path):
    generator = torch.Generator().manual_seed(3)
    state = {"keys": np.arange(5, dtype=np.uint32), "scale": np.float64(0.5), "gen": generator.get_state(),
             "nested": [(1, "a"), {"b": None}]}
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, state)
    loaded = load_checkpoint(path)
    assert loaded["keys"].tolist() == [0, 1, 2, 3, 4] and loaded["scale"] == 0.5
    assert torch.equal(loaded["gen"], generator.get_state()) and loaded["nested"] == [(1, "a"), {"b": None}]


def test_state_that_is_not_plain_data_is_named_at_save_time():
    with pytest.raises(UserError, match=r"checkpoint.optimizer.rng holds a Generator"):
        plain({"optimizer": {"rng": np.random.default_rng(0)}})


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"\x80\x04\x95"], ids=["empty", "garbage", "truncated"])
def test_unreadable_checkpoints_are_one_line(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(CorruptFile) as error:
        load_checkpoint(path)
    assert "\n" not in error.value.message and "checkpoint.pt" in error.value.message
    reason = error.value.message.split("load safely (", 1)[1].rsplit("); delete it", 1)[0]
    assert ". " not in reason and "weights_only" not in reason  # the cause in a few words, not torch's advice


def test_results_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "record.json", {"status": "finished"})
    finally:
        os.umask(old)
    assert (tmp_path / "record.json").stat().st_mode & 0o777 == 0o644


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_folder.os, "fsync", full)
    with pytest.raises(UserError, match="the disk is full") as error:
        atomic_write_bytes(tmp_path / "record.json", b"{}")
    assert str(tmp_path / "record.json") in error.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(UserError, match="not writable"):
            prepare_root(locked)
        with pytest.raises(UserError, match="not writable"):
            atomic_write_bytes(locked / "record.json", b"{}")
    finally:
        locked.chmod(0o700)


def test_a_read_only_folder_is_one_line_even_for_root(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(run_folder.tempfile, "mkstemp", denied)
    with pytest.raises(UserError, match="is not writable; pass a writable location"):
        atomic_write_bytes(tmp_path / "record.json", b"{}")


def test_results_that_is_a_file_is_one_line(tmp_path):
    target = tmp_path / "results"
    target.write_text("not a folder")
    with pytest.raises(UserError, match="is a file; pass a folder"):
        prepare_root(target)
    with pytest.raises(UserError, match="a file stands where a folder should be"):
        atomic_write_bytes(target / "run" / "record.json", b"{}")

"""Keeping a trained supernet while another process keeps the same one (seeds side by side)."""
from __future__ import annotations

import shutil

from harness.store import supernets
from harness.store.supernets import keep_supernet, supernet_path


def test_two_processes_keeping_the_same_supernet_at_once_both_succeed_and_the_first_to_finish_stays(tmp_path, monkeypatch):
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    first.write_bytes(b"first checkpoint")
    second.write_bytes(b"second checkpoint")
    copy = shutil.copyfile
    calls = []

    def copy_while_the_other_keeps(source, target):
        calls.append(source)
        result = copy(source, target)
        if len(calls) == 1:  # the other process finishes its whole keep between our copy and our move
            keep_supernet(second, tmp_path / "results", "key", 0)
        return result

    monkeypatch.setattr(supernets.shutil, "copyfile", copy_while_the_other_keeps)
    keep_supernet(first, tmp_path / "results", "key", 0)

    kept = supernet_path(tmp_path / "results", "key", 0)
    assert calls == [first, second]
    assert kept.read_bytes() == b"second checkpoint"
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]


def test_a_kept_supernet_is_not_replaced(tmp_path):
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    keep_supernet(first, tmp_path, "key", 3)
    keep_supernet(second, tmp_path, "key", 3)
    assert supernet_path(tmp_path, "key", 3).read_bytes() == b"first"
    assert len(list(supernet_path(tmp_path, "key", 3).parent.iterdir())) == 1

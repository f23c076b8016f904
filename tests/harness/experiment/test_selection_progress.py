"""A selector's progress: a line per step in a log, a bar on a terminal; and PT reporting each decision."""
from __future__ import annotations

import sys
from contextlib import closing

from click.testing import CliRunner

from harness.cli.main import build_cli
from harness.experiment.selection_progress import SelectionProgress


def test_off_a_terminal_each_step_is_a_line_naming_the_seed(capsys):
    with closing(SelectionProgress("darts-pt", 3)) as progress:
        progress(1, 6, "1<-0: nor_conv_3x3")
        progress(2, 6, "2<-0: skip_connect")
    assert capsys.readouterr().err.splitlines() == ["darts-pt seed 3: selection 1/6: 1<-0: nor_conv_3x3",
                                                    "darts-pt seed 3: selection 2/6: 2<-0: skip_connect"]


def test_on_a_terminal_it_is_one_bar_at_the_last_step(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with closing(SelectionProgress("darts-pt", 0)) as progress:
        progress(1, 4, "first")
        progress(3, 4, "third")
        assert progress.bar is not None and (progress.bar.n, progress.bar.total) == (3, 4)
    err = capsys.readouterr().err
    assert "darts-pt seed 0 selection" in err and "selection 1/4" not in err  # tqdm redraws at most 10 times a second


def test_a_darts_pt_run_logs_each_decision(tmp_path):
    small = ["--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--set", "space.options.C=4",
             "--set", "search.max_steps_per_epoch=2", "--set", "search.batch_size=16", "--results", str(tmp_path),
             "--set", "selector.options.proj_intv=0"]
    result = CliRunner().invoke(build_cli(), ["run", "--method", "darts-pt", *small], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("darts-pt seed 0: selection ")]
    assert [line.split(":")[1] for line in lines] == [f" selection {k}/6" for k in range(1, 7)]
    assert all("supernet valid acc" in line for line in lines)

"""A selector's progress on the terminal: a bar where stderr is a terminal, else a line per step.

PT tunes the supernet for 5 epochs between two decisions by default (24 epochs in all for NB201's
6 edges); without this a log shows nothing from the search's last epoch line to the record.
"""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


class SelectionProgress:
    """``SelectionContext.progress`` for one seed's selection; close it when the selection ends."""

    def __init__(self, label: str, seed: int) -> None:
        self.name = f"{label} seed {seed}"
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, message: str) -> None:
        if not sys.stderr.isatty():  # a log file or a pipe shows no bar, as for the search's epochs
            print(f"{self.name}: selection {done}/{total}: {message}", file=sys.stderr)
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=f"{self.name} selection", unit="step", leave=False)
        self.bar.total = total
        self.bar.set_postfix_str(message, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

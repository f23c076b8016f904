"""What a command stopped by Ctrl-C or SIGTERM tells the user before it ends."""
from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

RESUME_HINT = ("stopped: finished seeds are kept, and the same command resumes the others from their last epoch "
               "checkpoint")


@contextmanager
def resumable() -> Iterator[None]:
    """Around the seeds' work: Ctrl-C (KeyboardInterrupt) or SIGTERM (``exit_on_signal``) ends the command
    with the resume hint, and with the shell's status for the signal (130, 143), which a script tells from
    a failed regression gate (1) or bad input (2); everything else passes through unchanged."""
    try:
        yield
    except KeyboardInterrupt:
        print(RESUME_HINT, file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None
    except SystemExit as exc:
        if exc.code == 128 + signal.SIGTERM:
            print(RESUME_HINT, file=sys.stderr)
        raise

"""Parsing ``--seeds`` and seeding every random number generator a run touches."""
from __future__ import annotations

import random
from collections import Counter

import numpy as np

from harness.api.errors import UserError

MAX_SEED = 2**32 - 1
"""numpy's seeds are 32-bit."""
MAX_SEEDS = 10_000
"""More seeds than any experiment needs: a typo such as 0-99999999999."""


def parse_seeds(text: str) -> list[int]:
    """``"0-3"`` → [0, 1, 2, 3]; ``"0,2,5"`` → [0, 2, 5]; ranges and lists combine."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (_integer(x) for x in part.split("-", 1))
                if high < low:
                    raise UserError(f"--seeds '{text}': the range {part} runs backwards; write {high}-{low}")
                if high - low >= MAX_SEEDS:
                    raise UserError(f"--seeds '{text}': {high - low + 1} seeds; at most {MAX_SEEDS} per command")
                seeds.extend(range(low, high + 1))
            elif part:
                seeds.append(_integer(part))
        except ValueError:
            raise UserError(f"--seeds '{text}': expected a range like 0-3, a list like 0,2,5, or both") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError(f"--seeds '{text}': give at least one non-negative seed, e.g. 0-3")
    if max(seeds) > MAX_SEED or len(seeds) > MAX_SEEDS:
        raise UserError(f"--seeds '{text}': seeds go up to {MAX_SEED}, at most {MAX_SEEDS} per command")
    if repeated := repeated_seeds(seeds):
        raise UserError(f"--seeds '{text}': {repeated}; each seed is one run, name it once")
    return seeds


def repeated_seeds(seeds: list[int]) -> str | None:
    """Words naming the seeds listed more than once (``"seeds 2, 3 given more than once"``), or None."""
    twice = sorted(seed for seed, count in Counter(seeds).items() if count > 1)
    if not twice:
        return None
    return f"seed{'s' if len(twice) > 1 else ''} {', '.join(map(str, twice))} given more than once"


def _integer(text: str) -> int:
    """``int`` for ASCII digits only: Python's also takes other scripts' digits (``٣``) and ``_`` separators."""
    if not (text.isascii() and text.strip().isdigit()):
        raise ValueError(text)
    return int(text)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    import torch  # here, not at the top: parsing --seeds must not import torch

    np.random.seed(seed)
    torch.manual_seed(seed)

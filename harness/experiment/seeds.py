"""Parsing ``--seeds`` and seeding every random number generator a run touches."""
from __future__ import annotations

import random

import numpy as np

from harness.api.errors import UserError


def parse_seeds(text: str) -> list[int]:
    """``"0-3"`` → [0, 1, 2, 3]; ``"0,2,5"`` → [0, 2, 5]; ranges and lists combine."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                seeds.extend(range(low, high + 1))
            elif part:
                seeds.append(int(part))
        except ValueError:
            raise UserError(f"--seeds '{text}': expected a range like 0-3, a list like 0,2,5, or both") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError(f"--seeds '{text}': give at least one non-negative seed, e.g. 0-3")
    return list(dict.fromkeys(seeds))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    import torch  # here, not at the top: parsing --seeds must not import torch

    np.random.seed(seed)
    torch.manual_seed(seed)

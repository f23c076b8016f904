"""``--device auto|cpu|cuda[:N]`` to a torch device, with clear errors; what timing a device needs."""
from __future__ import annotations

import re

import torch

from harness.api.errors import UserError

DEVICE_SPELLING = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_spelling(name: str | None) -> str:
    """The name, lowercased, if ``--device`` takes that spelling: a typo (``gpu``, ``cuda:x``) is bad input on
    any machine, while a device this machine lacks is only a problem where the runs are to be made."""
    name = (name or "auto").strip().lower()
    if not DEVICE_SPELLING.fullmatch(name):
        raise UserError(f"--device {name}: expected auto, cpu, cuda or cuda:N")
    return name


def resolve_device(name: str) -> torch.device:
    name = check_device_spelling(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():  # cuda or cuda:N
        raise UserError(f"--device {name}: CUDA is not available here; use --device cpu (or auto)")
    index = name.partition(":")[2]
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                        f"numbered 0..{torch.cuda.device_count() - 1}")
    return torch.device(name)


def peak_memory_mb(device: torch.device) -> float:
    """Peak accelerator memory of this process (or peak resident memory on the CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that wall time measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)

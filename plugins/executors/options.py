"""Executor options, apart from the executors' modules (Ray and torch load only when used)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from harness import Options


def _device_name(value: object) -> object:
    """A GPU id typed as a number (``devices=[0,2]``) is the name ``CUDA_VISIBLE_DEVICES`` takes."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class LocalGpusOptions(Options):
    devices: list[Annotated[str, BeforeValidator(_device_name)]] | None = Field(
        None, description="one worker per entry, e.g. [0,1] (GPU ids) or [cpu,cpu]; null: one per visible GPU")


class RayOptions(Options):
    num_gpus: float | None = Field(None, ge=0, description="GPUs per task; null: 1 when --device is cuda, else 0")
    num_cpus: float = Field(1, ge=0, description="CPUs per task")
    max_retries: int = Field(3, ge=0, description="times a task is retried after its worker died")
    address: str | None = Field(None, description="cluster to join; null: $RAY_ADDRESS, else a local Ray instance")

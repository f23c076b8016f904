"""The nb201 benchmark's options, apart from its module (which imports pandas) so listing stays instant."""
from __future__ import annotations

from pydantic import Field

from harness import Options


class NB201BenchmarkOptions(Options):
    file: str | None = Field(None, description="a benchmark table (CSV/Parquet/compact) or an official .pth; "
                                               "null: $NASBENCH_NB201_FILE, then the imported table")
    trust: bool = Field(False, description="allow unpickling an official .pth you trust")

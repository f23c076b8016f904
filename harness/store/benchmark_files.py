"""Where a benchmark's data file is: one resolution rule for every benchmark plugin.

Order: the run's ``file`` option (``--benchmark-file``) > the benchmark's environment
variable > the table ``import`` stored in the user data folder > a table shipped with the
plugin. A user's own file always wins; a missing one is one line naming where it came from.
"""
from __future__ import annotations

import os
from pathlib import Path

from harness.api.benchmarks import BenchmarkUnavailable
from harness.api.errors import UserError

HOME_ENV = "NASBENCH_HOME"


def nasbench_home() -> Path:
    """The user data folder: ``$NASBENCH_HOME``, else ``$XDG_DATA_HOME/nasbench``, else ``~/.local/share/nasbench``."""
    explicit = os.environ.get(HOME_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "nasbench"


def locate_benchmark_file(explicit: object, env_var: str, imported: Path, shipped: Path | None,
                          what: str, hint: str) -> tuple[Path, str]:
    """The file to use and where that choice came from (for messages); ``what`` names it in errors."""
    if explicit:
        return _existing(Path(str(explicit)).expanduser(), "--benchmark-file", what, hint)
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return _existing(Path(from_env).expanduser(), env_var, what, hint)
    if imported.is_file():
        return imported, "the imported table"
    if shipped is not None and shipped.is_file():
        return shipped, "the table shipped with nasbench"
    raise BenchmarkUnavailable(f"no {what} is configured: {hint}")


def _existing(path: Path, origin: str, what: str, hint: str) -> tuple[Path, str]:
    if not path.exists():
        raise UserError(f"{what} {path} (from {origin}) does not exist; {hint}")
    if not path.is_file():
        raise UserError(f"{what} {path} (from {origin}) is a folder, not a file; {hint}")
    return path, origin

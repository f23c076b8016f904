"""Where a plugin's code failed, in one line a plugin author can act on."""
from __future__ import annotations

import sys
import traceback
from pathlib import Path


def describe_exception(exc: BaseException) -> str:
    """``Type: message (at file:line in function)``, the innermost frame: what a plugin author needs first."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {import_path(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    message = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {message}{where}"


def import_path(filename: str) -> str:
    """The file as Python imports it (``nasbench_noisy/__init__.py``), not only its name, which many
    share; from its module's name, since an editable install's folder need not be on ``sys.path``."""
    path = Path(filename)
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == filename:
            package = module.__name__.split(".")
            return "/".join([*(package if path.name == "__init__.py" else package[:-1]), path.name])
    return path.name

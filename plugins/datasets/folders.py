"""Finding a dataset inside the folder the user gave (``--data-dir``)."""
from __future__ import annotations

from pathlib import Path

from harness import UserError


def existing_folder(data_dir: Path | str | None, title: str, hint: str) -> Path:
    """The user's data folder, or a one-line error saying what to download."""
    if data_dir is None:
        raise UserError(f"{title} needs a data folder (--data-dir). {hint}")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise UserError(f"data folder {root} for {title} does not exist or is not a folder. {hint}")
    return root


def find_file_folder(root: Path, subfolder: str, names: list[str], title: str, hint: str) -> Path | None:
    """``root/subfolder`` or ``root`` when it holds all ``names``; None when it holds none of them.

    Users point ``--data-dir`` either at the official folder or at the folder they
    extracted the archive into; both are accepted. A folder with only some of the files
    is an incomplete download, reported with the missing names.
    """
    for candidate in (root / subfolder, root):
        present = [name for name in names if (candidate / name).is_file()]
        if len(present) == len(names):
            return candidate
        if present:
            missing = ", ".join(name for name in names if name not in present)
            raise UserError(f"{title} in {candidate} is incomplete: missing {missing}. {hint}")
    return None

"""Where the repository and the shared reference data lie, for tests in any folder."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [parent / "shared" / "data" for parent in REPO_ROOT.parents[:2]]
SHARED_DATA = next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[0])
"""``../shared/data`` beside the checkout, or one level further up for a git worktree (``wt/<name>``)."""

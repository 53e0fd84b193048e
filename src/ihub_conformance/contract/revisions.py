"""contracts/ at a git revision, and the revision a change is compared with.

Every git call has a deadline. A checkout without git, without history (a shallow
or single-commit clone) or without a ``main`` branch is not an error: `merge_base`
says what it compares with instead, so CI never fails for lack of history.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from ihub_conformance.errors import ConformanceError, InputError

GIT_DEADLINE_S = 30
# Branches a change is compared with, first found wins.
BASE_BRANCHES = ("main", "origin/main", "origin/HEAD")


def _git(root: Path, *args: str, binary: bool = False) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise ConformanceError("git is not installed: cannot read a git revision")
    try:
        done = subprocess.run([git, "-C", str(root), *args], capture_output=True,
                              timeout=GIT_DEADLINE_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConformanceError(f"git {args[0]} took longer than {GIT_DEADLINE_S} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {' '.join(args[:2])}", message[-1] if message else
                         f"exit {done.returncode}")
    return done.stdout


def repository_root(start: Path) -> Path | None:
    """The git work tree holding ``start``, or None (no git, not a repository)."""
    try:
        out = _git(start, "rev-parse", "--show-toplevel")
    except ConformanceError:
        return None
    return Path(out.decode().strip())


def extract_contracts(root: Path, revision: str, dest: Path,
                      subdir: str = "contracts") -> Path:
    """Write ``subdir`` as it is at ``revision`` under ``dest``; the extracted directory."""
    data = _git(root, "archive", "--format=tar", revision, "--", subdir)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")
    return dest / subdir


def merge_base(root: Path, head: str = "HEAD") -> tuple[str | None, str]:
    """(revision to compare with, how it was chosen); revision None when there is no git."""
    try:
        _git(root, "rev-parse", "--verify", "--quiet", head)
    except ConformanceError:
        return None, "no git history here: nothing to compare with"
    for branch in BASE_BRANCHES:
        try:
            _git(root, "rev-parse", "--verify", "--quiet", branch)
            base = _git(root, "merge-base", head, branch).decode().strip()
        except ConformanceError:
            continue
        return base, f"merge base of {head} with {branch} ({base[:12]})"
    return head, f"no {' / '.join(BASE_BRANCHES)} branch or no shared history " \
        f"(shallow clone?): compared with {head}"

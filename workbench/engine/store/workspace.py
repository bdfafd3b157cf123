"""Where a competitor's files live: one workspace folder holding ``runs/``, ``submissions/``
and ``data/`` (where ``kaggle download`` puts Kaggle's zip).

The workspace is ``$WORKBENCH_HOME``, else the nearest folder from the current one up that
already holds a ``runs/`` folder (as git finds its repository, so a command started in a
subfolder such as ``data/`` finds the runs; the walk stays inside the user's home and never
claims the home itself), else the current folder. A face may choose another runs folder
(``--runs-dir``); submissions and the suspect list then live beside and in it. The engine's
functions default to ``./runs``; the faces pass the workspace's folders.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

HOME_ENV = "WORKBENCH_HOME"
DOWNLOAD_NAME = "digit-recognizer.zip"
_chosen: Path | None = None  # a face's --runs-dir, for the whole process


def root() -> Path:
    """The workspace folder; ``Path(".")`` when it is the current folder, so messages stay
    short in the common case."""
    chosen = os.environ.get(HOME_ENV)
    if chosen:
        try:
            return Path(chosen).expanduser()
        except RuntimeError:  # ~user of no user: as written, and its use says what is wrong
            return Path(chosen)
    try:
        here, home = Path.cwd(), Path.home()
    except (OSError, RuntimeError):  # a deleted current folder, a user with no home
        return Path(".")
    if (here / "runs").is_dir() or home not in here.parents:
        return Path(".")
    for folder in here.parents:
        if folder == home:
            break
        if (folder / "runs").is_dir():
            return folder
    return Path(".")


def choose(runs: Path | None) -> None:
    """Use ``runs`` as the runs folder for the rest of this process (None: the workspace's)."""
    global _chosen
    _chosen = runs


def runs_dir() -> Path:
    return _chosen if _chosen is not None else root() / "runs"


def submissions_dir() -> Path:
    return submissions_beside(runs_dir())


def submissions_beside(runs: Path) -> Path:
    """Where the submissions of the runs in ``runs`` go: a folder beside it."""
    return runs.parent / "submissions"


def suspects_file() -> Path:
    """The confirmed suspect labels, in the runs folder (not the current folder, where a git
    checkout would show it as untracked); an older ``suspects.csv`` at the workspace root
    stays in use while the runs folder has none."""
    current = runs_dir() / "suspects.csv"
    legacy = root() / "suspects.csv"
    return legacy if not os.path.lexists(current) and os.path.isfile(legacy) else current


def downloaded_data() -> Path:
    """Where ``kaggle download`` puts the competition's zip."""
    return root() / "data" / DOWNLOAD_NAME


def screenshots_dir() -> Path:
    return runs_dir().parent / "screenshots"


def check_writable(folder: Path) -> None:
    """PermissionError for ``folder`` unless this user may add files where it is or would be
    made (the nearest folder that exists): checked before slow work such as Keras' import, so a
    read-only folder or disk is said at once rather than after seconds of loading."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))

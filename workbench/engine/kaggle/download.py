"""Downloading the competition's zip, so that a broken download loses nothing."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from workbench.engine.data.competition import load_competition
from workbench.engine.errors import WorkbenchError
from workbench.engine.kaggle import calls
from workbench.engine.results.submission import COMPETITION
from workbench.engine.store import workspace


def download(competition: str = COMPETITION, dest: Path | None = None) -> Path:
    """Download the competition zip into ``dest`` (default: the workspace's data/, where
    every command finds it) and check that it loads.

    The client writes into a temporary folder beside ``dest``; only a complete zip (every
    member's CRC checked) replaces the one already there, so a broken download loses nothing."""
    api = calls.api()
    dest = dest or workspace.root() / "data"
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{competition}.zip"
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as folder:
        calls.call("downloading", competition,
              lambda: api.competition_download_files(competition, path=folder, force=True,
                                                     quiet=True))
        got = Path(folder) / path.name
        if not got.is_file():
            raise WorkbenchError(f"downloading failed: Kaggle sent no {path.name}; try again.")
        if not _complete_zip(got):
            raise WorkbenchError(f"downloading failed: {path.name} arrived incomplete or "
                                 "damaged; try again (the file already there is kept).")
        os.replace(got, path)
    load_competition(path)
    return path


def _complete_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


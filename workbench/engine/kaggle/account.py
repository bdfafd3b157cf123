"""Where the official client finds Kaggle credentials, and whether the files it will read are
whole. This module only tells *where* (never a value), so no credential reaches a message or a
log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workbench.engine.errors import WorkbenchError, printable
from workbench.engine.store.files import parse_json, read_small

SECRET_LIMIT = 64 << 10  # a token or kaggle.json is well under 1 KB
TOKEN_HELP = ("create an API token at https://www.kaggle.com/settings (API section) and set "
              "KAGGLE_API_TOKEN, or save it as ~/.kaggle/access_token (kaggle.json with "
              "KAGGLE_USERNAME/KAGGLE_KEY works too)")


def credentials_source() -> str:
    """Where the client will find credentials (never their values); raises if nowhere, or if a
    file the client will read is broken (cut short, not JSON, a list, a key missing)."""
    config_dir = _config_dir()
    kaggle_json = config_dir / "kaggle.json"
    saved = _check_kaggle_json(kaggle_json) if os.path.lexists(kaggle_json) else None
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        if os.path.exists(token):
            _check_token_file(Path(token), "the file KAGGLE_API_TOKEN names")
        return "KAGGLE_API_TOKEN"
    for name in ("access_token", "access_token.txt"):
        path = Path.home() / ".kaggle" / name
        if os.path.lexists(path) and _check_token_file(path, printable(str(path))):
            return str(path)
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    if saved is not None:
        for key in ("username", "key"):
            value = os.environ.get(f"KAGGLE_{key.upper()}") or saved.get(key)
            if not isinstance(value, str) or not value.strip():
                raise WorkbenchError(f"{printable(str(kaggle_json))} has no \"{key}\" (the "
                                     "client needs \"username\" and \"key\"); download a new "
                                     "kaggle.json from https://www.kaggle.com/settings (API "
                                     "section) to replace it, or set KAGGLE_API_TOKEN.")
        return str(kaggle_json)
    raise WorkbenchError(f"no Kaggle credentials found (looked at KAGGLE_API_TOKEN, "
                         f"KAGGLE_USERNAME/KAGGLE_KEY and {config_dir}); {TOKEN_HELP}.")


def _config_dir() -> Path:
    """The folder the client reads kaggle.json from: $KAGGLE_CONFIG_DIR, else ~/.kaggle, else
    (on Linux, when ~/.kaggle does not exist) $XDG_CONFIG_HOME/kaggle."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        folder = Path(os.environ["KAGGLE_CONFIG_DIR"]).expanduser()
        if os.path.exists(folder) and not folder.is_dir():
            raise WorkbenchError(f"KAGGLE_CONFIG_DIR is {printable(str(folder))}, which is a "
                                 "file, not a folder; point it at the folder that holds "
                                 "kaggle.json.")
        return folder
    home = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    return home


def _read_secret_file(path: Path, what: str) -> str:
    """The text of a credentials file, or WorkbenchError naming it (never its content)."""
    if not path.is_file():
        raise WorkbenchError(f"{what} is not a file; replace it with the token file from "
                             "https://www.kaggle.com/settings (API section).")
    try:
        data = read_small(path, SECRET_LIMIT)
    except ValueError as error:  # a FIFO, a device, too large, unreadable: never waited on
        reason = str(error).removeprefix(f"{path.name} ")
        raise WorkbenchError(f"{what} {reason}; fix its permissions (chmod 600) or replace it "
                             "with the token file from https://www.kaggle.com/settings (API "
                             "section).") from None
    if data is None:
        raise WorkbenchError(f"{what} is gone; download a new token from "
                             "https://www.kaggle.com/settings (API section).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkbenchError(f"{what} is not text (damaged); download a new token from "
                             "https://www.kaggle.com/settings (API section) to replace "
                             "it.") from None


def _check_token_file(path: Path, what: str) -> bool:
    """Whether an access-token file holds a token (the client skips an empty one)."""
    return bool(_read_secret_file(path, what).strip())


def _check_kaggle_json(path: Path) -> dict:
    """kaggle.json as the client will read it; the client fails obscurely on anything that is
    not a JSON object (a list crashes it, a cut-short file reads as 'no credentials')."""
    text = _read_secret_file(path, printable(str(path)))
    try:
        saved = parse_json(text, path.name)
    except ValueError:
        saved = _BROKEN
    if not isinstance(saved, dict):
        problem = ("is not valid JSON (cut short or damaged)" if saved is _BROKEN else
                   f"holds {type(saved).__name__ if saved is not None else 'null'}, not "
                   "{\"username\": ..., \"key\": ...}")
        raise WorkbenchError(f"{printable(str(path))} {problem}; download a new kaggle.json "
                             "from https://www.kaggle.com/settings (API section) to replace it, "
                             "or delete it and set KAGGLE_API_TOKEN.")
    return saved



_BROKEN = object()


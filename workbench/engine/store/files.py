"""Reading the small files the engine keeps (JSON, CSV, lists), strictly and leniently.

Every read goes through ``read_small``: opened non-blocking, regular files only, capped, so a
FIFO, a device or a huge file put where one was expected is refused, never waited on."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import TypeGuard

from workbench.engine.errors import WorkbenchError, shown

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_NAME = 200  # leaves room for the suffixes and temp-file prefixes within 255 bytes
MAX_TEXT = 64 << 20  # no run's JSON or CSV is near this; /dev/zero behind a link would be


def check_name(name: str, what: str) -> str:
    """``name`` if it can name a file of its own inside its folder (an ensemble, a CV, a
    submission): 1 to 200 letters, digits, '.', '_' and '-', starting with a letter or digit,
    so no '/', '..', hidden name or control character escapes the folder; else WorkbenchError,
    raised before any work."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise WorkbenchError(f"'{shown(name, 40)}' cannot name {what}: use 1 to {MAX_NAME} "
                             "letters, digits, '.', '-' and '_', starting with a letter or "
                             "digit.")
    return name


# -- reading, strictly and leniently -------------------------------------------------------------

def read_small(path: Path, limit: int = MAX_TEXT) -> bytes | None:
    """The bytes of a small regular file; None if it does not exist; ValueError(reason) if it
    is not one (a folder, a FIFO, a device: refused, never waited on: it is opened
    non-blocking and checked once open), is larger than ``limit``, or cannot be read. The one
    way the engine reads the small files it keeps (JSON, CSV, lists)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path.name} cannot be read ({why(error)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ValueError(f"{path.name} is not a regular file")
        with os.fdopen(fd, "rb") as file:
            if info.st_size > limit:
                raise ValueError(f"{path.name} is too large ({info.st_size:,} bytes)")
            data = file.read(limit + 1)
    except OSError as error:
        raise ValueError(f"{path.name} cannot be read ({why(error)})") from None
    if len(data) > limit:
        raise ValueError(f"{path.name} is too large (over {limit:,} bytes)")
    return data


def read_text(path: Path, limit: int = MAX_TEXT, errors: str = "strict") -> str | None:
    """The UTF-8 text of a small regular file (undecodable bytes as ``errors`` says); None if
    it does not exist; ValueError(reason) if it cannot be read as one (see ``read_small``;
    not UTF-8)."""
    data = read_small(path, limit)
    try:
        return None if data is None else data.decode("utf-8", errors)
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not UTF-8 text") from None


def parse_json(text: str | bytes, name: str) -> object:
    """JSON, with every way it can fail as ValueError(reason): bad syntax, and nesting deep
    enough to exhaust Python's recursion (a hostile file's RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{name} is nested too deeply to be a file this program wrote") from None
    except ValueError:
        raise ValueError(f"{name} is {'empty' if not text.strip() else 'not valid JSON'}"
                         " (cut short?)") from None


def why(error: Exception) -> str:
    return shown(getattr(error, "strerror", None) or type(error).__name__, 60)


def load_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None if the file does not exist; ValueError(reason) if it
    is damaged (not UTF-8, not JSON, not an object)."""
    text = read_text(path)
    if text is None:
        return None
    value = parse_json(text, path.name)
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise ValueError(f"{path.name} holds {kind}, not a JSON object")
    return value


def read_json(path: Path) -> dict:
    """The JSON object in ``path``, or {} if it is missing or damaged (``check_run`` says why)."""
    try:
        return load_json(path) or {}
    except ValueError:
        return {}


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (not a bool, which Python counts as one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value: object) -> TypeGuard[int]:
    """A JSON integer >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0

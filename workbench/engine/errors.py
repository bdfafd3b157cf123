"""The engine's one error type: a problem the user can fix, told in one sentence; and the
sentence for an operating-system error (disk full, read-only folder, missing file)."""

from __future__ import annotations

import errno


def printable(text: str) -> str:
    """``text`` as one visible line: control and invisible characters are escaped (``\\r``,
    ``\\x00``, ``\\ufeff``), and a byte that was not UTF-8 in a file name shows as ``\\xff``.

    File names and file contents end up in messages; a raw CR, ANSI escape or newline there
    would garble the terminal or split the one-line error."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


class WorkbenchError(Exception):
    """A problem with the user's input or environment; str() is the message to show."""

    def __init__(self, message: object = "") -> None:
        super().__init__(printable(str(message)))


FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}

# errno: (the problem, with {f} for the file, the fix)
_SENTENCES = {
    errno.ENOENT: ("{f} does not exist", "check the path"),
    errno.ENOTDIR: ("{f}: a part of that path is a file, not a folder",
                    "check the path (a file name cannot be followed by '/')"),
    errno.EISDIR: ("{f} is a folder where a file belongs", "give the path of a file"),
    errno.ENAMETOOLONG: ("{f}: the path is too long (a name over 255 bytes, or the whole path "
                         "over 4,096)", "choose a shorter name or folder"),
    errno.ELOOP: ("{f} is a symbolic link that loops back on itself (or a chain of too many links)",
                  "fix the link or give the real path"),
    errno.EINVAL: ("the file system refused {f} (invalid argument: e.g. a character its names "
                   "may not hold)", "choose another name or folder"),
    errno.EIO: ("input/output error on {f}: the disk or network share failed",
                "check the disk (dmesg, fsck) and try again; files written before are kept"),
    errno.EPIPE: ("the output was closed before everything was written (broken pipe)",
                  "keep the reading end open, or ignore this if you meant to stop early"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) and try again"),
    errno.ENFILE: ("too many open files on this machine", "close other programs and try again"),
    errno.EBUSY: ("{f} is busy (used by another program)", "close that program and try again"),
    errno.ETXTBSY: ("{f} is busy (used by another program)", "close that program and try again"),
    errno.EEXIST: ("{f} already exists", "remove it or choose another name"),
    errno.ENOTEMPTY: ("{f} is a folder that is not empty", "empty or remove it, or choose another "
                      "name"),
    errno.ENXIO: ("{f} is a device or pipe with nothing behind it", "give the path of a file"),
    errno.ENODEV: ("{f} is a device, not a file", "give the path of a file"),
    errno.ESTALE: ("{f} is on a network share that went away (stale file handle)",
                   "remount the share, or work on a local disk"),
}


def _problem(error: OSError) -> str:
    """What went wrong, naming the file, without the fix: '/x/y does not exist'."""
    name = printable(str(error.filename)) if error.filename is not None else ""
    if error.errno in _SENTENCES:
        return _SENTENCES[error.errno][0].format(f=name or "a file")
    detail = error.strerror or str(error) or type(error).__name__
    return printable(f"{detail}: {name}" if name else detail)


def describe_os_error(error: OSError) -> str:
    """One sentence naming the file, the problem and the fix; files written before are kept."""
    where = f" {printable(str(error.filename))}" if error.filename is not None else ""
    if error.errno in FULL:
        return (f"no space left to write{where} (disk full or file size limit); free some "
                "space or write elsewhere (--runs-dir, --name); files written before are kept.")
    if error.errno in DENIED:
        return (f"permission denied for{where} (a read-only folder or disk, or a file you may "
                "not read); fix its permissions or choose another path.")
    fix = _SENTENCES[error.errno][1] if error.errno in _SENTENCES else "check the path and the disk"
    return f"{_problem(error)}; {fix}."


def user_message(error: Exception) -> str:
    """The sentence to show for an engine error or an operating-system error."""
    return describe_os_error(error) if isinstance(error, OSError) else printable(str(error))

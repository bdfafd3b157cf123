"""The engine's one error type: a problem the user can fix, told in one sentence; and the
sentence for an operating-system error (disk full, read-only folder, missing file)."""

from __future__ import annotations

import errno
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Option:
    """A setting that fixes a problem, by the CLI's name for it (``val_split`` is
    ``--val-split``): data in the error, so that each face words it its own way, a flag in the
    CLI, a field or a key in the app."""

    name: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Action:
    """A command that fixes a problem, by the CLI's words for it ("runs delete", "runs list",
    "train"), what it acts on and the options it needs, by name and value: data in the error,
    worded by each face (a command line in the CLI, a screen and its key in the app)."""

    command: str
    args: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()  # (an Option's name, its value)

    @property
    def line(self) -> str:
        words = ["workbench-engine", *self.command.split(), *self.args]
        for name, value in self.options:
            words += [Option(name).flag, value]
        return f"'{shlex.join(shown(word) for word in words)}'"


Words = Callable[[Option | Action], str]
Part = str | Option | Action
Fix = str | Sequence[Part]  # how to fix a problem: text, and the options and actions that do it


def as_flag(part: Option | Action) -> str:
    """The CLI's words: an option as its flag, an action as its command line."""
    return part.flag if isinstance(part, Option) else part.line


def worded(fix: Fix, words: Words = as_flag) -> str:
    """``fix`` as one line, its options and actions in ``words``."""
    parts = (fix,) if isinstance(fix, str) else fix
    return printable("".join(part if isinstance(part, str) else words(part) for part in parts))


class WorkbenchError(Exception):
    """A problem the user can fix: what is wrong (``problem``) and how to fix it (``fix``: text
    and the ``Option``s that do it). str() is the sentence with the options as CLI flags;
    ``phrased(words)`` words them another way."""

    def __init__(self, problem: object = "", fix: Fix = ()) -> None:
        self.problem = printable(str(problem))
        self.fix: tuple[Part, ...] = (fix,) if isinstance(fix, str) else tuple(fix)
        super().__init__(self.phrased(as_flag))

    def __reduce__(self):
        """Pickled whole, subclasses and their fields too (an error raised in a child process
        reaches the parent as it was; Exception's own pickling would call __init__ with the
        sentence alone)."""
        return _rebuilt, (type(self), self.args, self.__dict__)

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(part for part in self.fix if isinstance(part, Option))

    def phrased(self, words: Words) -> str:
        if not self.fix:
            return self.problem
        return f"{self.problem}; {worded(self.fix, words)}"


def _rebuilt(kind: type[WorkbenchError], args: tuple, state: dict) -> WorkbenchError:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


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


def describe_os_error(error: OSError, words: Words = as_flag) -> str:
    """One sentence naming the file, the problem and the fix; files written before are kept."""
    where = f" {printable(str(error.filename))}" if error.filename is not None else ""
    if error.errno in FULL:
        return (f"no space left to write{where} (disk full or file size limit); free some "
                f"space or write elsewhere ({words(Option('runs_dir'))}, "
                f"{words(Option('name'))}); files written before are kept.")
    if error.errno in DENIED:
        return (f"permission denied for{where} (a read-only folder or disk, or a file you may "
                "not read); fix its permissions or choose another path.")
    fix = _SENTENCES[error.errno][1] if error.errno in _SENTENCES else "check the path and the disk"
    return f"{_problem(error)}; {fix}."


def user_message(error: Exception, words: Words = as_flag) -> str:
    """The sentence to show for an engine error or an operating-system error, the options and
    actions that fix it worded by ``words`` (the CLI's unless a face says otherwise)."""
    if isinstance(error, OSError):
        return describe_os_error(error, words)
    if isinstance(error, WorkbenchError):
        return error.phrased(words)
    return printable(str(error))


def shown(text: str, limit: int = 200) -> str:
    """``text`` fit for a one-line message (``printable``), cut at ``limit`` characters."""
    text = printable(str(text))
    return text if len(text) <= limit else text[:limit] + "..."

"""The engine's one error type: a problem the user can fix, told in one sentence; and the
sentence for an operating-system error (disk full, read-only folder, missing file)."""

from __future__ import annotations

import errno


class WorkbenchError(Exception):
    """A problem with the user's input or environment; str() is the message to show."""


FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def describe_os_error(error: OSError) -> str:
    """One sentence naming the file, the problem and the fix; files written before are kept."""
    where = f" {error.filename}" if error.filename else ""
    if error.errno in FULL:
        return (f"no space left to write{where} (disk full or file size limit); free some "
                "space or write elsewhere (--runs-dir, --name); files written before are kept.")
    if error.errno in DENIED:
        return (f"permission denied for{where} (a read-only folder or disk, or a file you may "
                "not read); fix its permissions or choose another path.")
    if error.errno == errno.ENOENT:
        return f"{error.filename or 'a file'} does not exist; check the path."
    return f"{error.strerror or error}{':' + where if where else ''}; check the path and the disk."


def user_message(error: Exception) -> str:
    """The sentence to show for an engine error or an operating-system error."""
    return describe_os_error(error) if isinstance(error, OSError) else str(error)

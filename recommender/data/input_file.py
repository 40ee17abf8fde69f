"""An input file, checked before any reader opens it: it exists, it is a regular file, and this
process may read it. Each failure is one domain error naming the file, not a traceback, and a
directory, a FIFO or ``/dev/null`` is named for what it is instead of "file not found" (a FIFO is
never opened: that would wait for a writer)."""

from __future__ import annotations

import stat
from pathlib import Path

from recommender.errors import InvalidDataError, MissingDataError


def file_kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, in words: "a directory", "a FIFO", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def readable_file(path: Path) -> Path:
    """``path``, when it is a regular file (or a link to one) that this process can read.

    Raises
    ------
    MissingDataError
        Nothing is there.
    InvalidDataError
        It is not a regular file (a directory, a FIFO, a device such as ``/dev/null``), or it
        cannot be read (permissions, a file system error): the message says which.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise MissingDataError("file not found", path=path) from exc
    except OSError as exc:
        raise InvalidDataError(f"cannot be read: {exc.strerror or exc}", path=path) from exc
    if not stat.S_ISREG(mode):
        raise InvalidDataError(f"{file_kind(mode)}, not a regular file", path=path)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InvalidDataError(f"cannot be read: {exc.strerror or exc}", path=path) from exc
    return path

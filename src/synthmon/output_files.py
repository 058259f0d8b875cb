"""Writing the files a command was asked to write: one sentence naming the path when it
cannot be written, never a traceback, and never a folder nobody asked for.

The sentence says what is in the way: a folder that does not exist, a file where a folder
should be, a folder where the file should be, or no permission.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import click


class OutputPathError(click.ClickException):
    """A path a command was told to write to cannot be written; the message names it."""


def why_unwritable(path: Path, exc: OSError) -> str:
    """What stands in the way of writing `path`, for the error `exc` gave."""
    if exc.errno == errno.ENOTDIR or isinstance(exc, NotADirectoryError):
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            return f"{blocker} is a file, not a folder"
        return "a part of the path is a file, not a folder"
    if isinstance(exc, FileNotFoundError):
        return f"its folder {path.parent} does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def folder_problem(folder: Path) -> str | None:
    """Why `folder` could not be made or written into, or None when it can: the nearest
    part of it that exists must be a folder this process may write in."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    return None


def unwritable(path: Path, exc: OSError, what: str = "") -> OutputPathError:
    """The error to raise when `path` could not be written (`what`: e.g. 'the rule file')."""
    named = f"{what} {path}" if what else str(path)
    return OutputPathError(f"cannot write {named}: {why_unwritable(path, exc)}")


def write_text_file(path: Path, text: str, what: str = "") -> None:
    """Write `text` (UTF-8) to `path`, whose folder must exist: OutputPathError otherwise.
    Written whole or not at all: a temporary file beside it is renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise unwritable(path, exc, what) from exc

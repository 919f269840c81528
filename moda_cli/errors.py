"""One error hierarchy for every stage.

Library code raises these; the CLI turns them into one line and an exit code in one
place (``moda_cli.cli``). Every message names the file or setting at fault and, where
there is one, the remedy. Exit codes: 1 a job failed, 2 usage or configuration,
130 interrupted, ``INTERNAL_ERROR`` (70, sysexits' EX_SOFTWARE) a bug.
"""

from __future__ import annotations

import errno
import os
import reprlib
from pathlib import Path
from typing import Any

INTERNAL_ERROR = 70
EXCERPT_CHARS = 60


class ModaError(Exception):
    """Base of every error moda reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.path = Path(path) if path is not None else None
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        if self.path is not None:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(ModaError):
    """Bad arguments, presets or configuration: nothing was attempted."""

    exit_code = 2


class PresetError(UsageError):
    """A preset file or ``--set`` override is invalid."""


class InputError(ModaError):
    """An input file cannot be used for a job."""


class ImageDecodeError(InputError):
    """The portrait cannot be read as an image."""


class NoFaceFound(InputError):
    """No face was detected in the portrait."""


class AudioDecodeError(InputError):
    """The audio cannot be decoded, is empty, silent or too short."""


class MissingDependency(ModaError):
    """A binary or optional model the job needs is not installed or not found."""


class ModelLoadError(ModaError):
    """A checkpoint exists but does not match what the code expects."""


class FFmpegError(ModaError):
    """ffmpeg failed; carries the command and the tail of its stderr."""

    def __init__(
        self, message: str, *, cmd: list[str], stderr: str, path: str | Path | None = None
    ):
        self.cmd = cmd
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-3:] if stderr else []
        detail = " | ".join(tail)
        super().__init__(f"{message}: {detail}" if detail else message, path=path)


class OutputError(ModaError):
    """An output cannot be written: a folder in its place, no space, read-only, no permission."""


class ConfigError(UsageError):
    """The environment's configuration is wrong (e.g. ``MODA_FFMPEG``)."""


# What an OSError means to a user, by errno; anything else keeps the system's wording.
_OS_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "a folder is in the way, expected a file",
    errno.ENOTDIR: "a file is in the way, expected a folder",
    errno.EIO: "input/output error (a failing disk or a lost network mount)",
    errno.ELOOP: "a symlink loop",
    errno.ENAMETOOLONG: "the name is too long",
}


def os_cause(exc: OSError) -> str:
    """One phrase for an OSError: ``no space left on the device``."""
    return _OS_CAUSES.get(exc.errno or 0) or exc.strerror or str(exc)


def output_error(exc: OSError, path: str | Path, action: str = "cannot write") -> OutputError:
    """An OSError met while writing ``path``, as an OutputError naming the file and the cause."""
    return OutputError(f"{action}: {os_cause(exc)}", path=path)


def missing_file_error(label: str, path: Path) -> InputError:
    """Why ``path`` cannot be opened; a symlink loop or a dangling link says so."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 reports a loop this way
            return InputError(f"{label} is a symlink loop", path=path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return InputError(f"{label} is a symlink loop", path=path)
            target = os.readlink(path)
            return InputError(f"{label} is a symlink to a missing file ({target})", path=path)
    if path.exists():
        return InputError(f"{label} is not a file", path=path)
    return InputError(f"{label} file not found", path=path)


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` of at most ``limit`` characters: a huge bad value never floods a message.

    reprlib stops at a few items and levels, so a deep or long value is never rendered whole.
    """
    text = _SHORT.repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxtuple, _SHORT.maxset = 2, 4, 4, 4, 4
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = EXCERPT_CHARS

"""One error hierarchy for every stage.

Library code raises these; the CLI turns them into one line and an exit code in one
place (``moda_cli.cli``). Every message names the file or setting at fault and, where
there is one, the remedy.
"""

from __future__ import annotations

from pathlib import Path


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

    def __init__(self, message: str, *, cmd: list[str], stderr: str, path: str | Path | None = None):
        self.cmd = cmd
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-3:] if stderr else []
        detail = " | ".join(tail)
        super().__init__(f"{message}: {detail}" if detail else message, path=path)

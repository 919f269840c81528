"""One atomic write for every file moda leaves (records, reports, checkpoints).

The content goes to a hidden temp file in the same folder and is ``os.replace``d over the
final name, so a reader sees the old file or the new one, never half of one: text through
``atomic_write`` (any failure, e.g. no space, removes the temp file and raises an
OutputError naming the final file; SIGINT/SIGTERM wait until the few lines are done), a
file some library writes itself (a checkpoint) through ``atomic_path``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import output_error


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for a few lines (a small write), then deliver them.

    Only the main thread runs Python signal handlers, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def temp_name(path: Path, owner: int | None = None) -> Path:
    """``.NAME.tmp`` (the writer holds a lock on ``path``) or ``.NAME.tmpPID`` (it does not)."""
    return path.with_name(f".{path.name}.tmp{'' if owner is None else owner}")


def temp_path_for(output: Path) -> Path:
    """``.NAME.moda-tmpSUFFIX``: the temp file a video (or image) is written to before it
    is renamed ``output``. Hidden, in the output's folder so the rename is atomic; the
    suffix kept, since ffmpeg picks the container by the file's extension."""
    suffix = output.suffix or ".mp4"
    return output.with_name(f".{output.name}.moda-tmp{suffix}")


@contextmanager
def atomic_path(path: Path, *, locked: bool = False) -> Iterator[Path]:
    """A temp file beside ``path`` for the block to write; ``os.replace``d over ``path``
    when the block ends, removed when it raises (errors go on as they are).

    ``locked``: the caller holds ``path``'s lock, so one fixed temp name serves and a
    killed writer's leftover is simply overwritten. Otherwise the temp name carries this
    process's id, and leftovers of processes that no longer exist are removed first.
    """
    if not locked:
        remove_dead_temps(path)
    tmp = temp_name(path, None if locked else os.getpid())
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, text: str, *, locked: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (``atomic_path``), signals held back for the
    few lines; raise OutputError naming ``path`` on failure."""
    try:
        with deferred_signals(), atomic_path(path, locked=locked) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise output_error(exc, path) from None


def remove_dead_temps(path: Path) -> None:
    """Delete ``.NAME.tmpPID`` files beside ``path`` whose process is gone (killed mid-write)."""
    prefix = temp_name(path).name
    try:
        entries = [e for e in os.scandir(path.parent) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        owner = entry.name[len(prefix) :]
        if owner.isdigit() and not _alive(int(owner)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True

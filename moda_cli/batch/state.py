"""What makes a batch resumable and safe to run twice on one folder.

* A job's key hashes its input bytes, its resolved settings and the motion model, so
  a changed portrait, audio, preset or checkpoint renders again.
* The key is recorded in ``OUTPUT.moda.json`` beside a finished video; a rerun skips
  a job whose video exists and whose recorded key matches.
* A job holds an exclusive ``flock`` on ``.OUTPUT.lock`` while it renders, so a second
  batch process on the same folder passes it by instead of writing the same file, and
  comes back at the end to wait for it (then finds it done). The kernel drops the lock
  if the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import __version__

SIDECAR_SUFFIX = ".moda.json"


_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes; one portrait used by a thousand jobs is read once."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _DIGESTS[memo] = h.hexdigest()
    return _DIGESTS[memo]


def job_key(portrait: Path, audio: Path, settings: dict[str, Any], model_id: str) -> str:
    h = hashlib.sha256()
    for part in (file_digest(portrait), file_digest(audio), json.dumps(settings, sort_keys=True), model_id, __version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + SIDECAR_SUFFIX)


def is_done(output: Path, key: str) -> bool:
    side = sidecar_path(output)
    if not (output.is_file() and side.is_file()):
        return False
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("key") == key
    except (OSError, ValueError):
        return False


def write_sidecar(output: Path, key: str, record: dict[str, Any]) -> None:
    side = sidecar_path(output)
    tmp = side.with_name(f".{side.name}.tmp{os.getpid()}")
    with deferred_signals():  # an interruption here would leave the temp file behind
        tmp.write_text(json.dumps({"key": key, **record}, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, side)


class JobBusy(Exception):
    """Another process holds this job's lock."""


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for a few lines (a sidecar write), then deliver them.

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


def _open_locked(lock: Path, wait: bool) -> int:
    """An fd holding the flock of the file now at ``lock``.

    The holder before us unlinks the file when it is done; if we got the lock on that
    old inode, a newcomer can lock a fresh file at the same path at the same time. So
    keep the lock only if the path still names the inode we locked.
    """
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held, now = os.fstat(fd), os.stat(lock)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                return fd
        except BlockingIOError:
            os.close(fd)
            raise JobBusy(str(lock)) from None
        except FileNotFoundError:
            pass  # unlinked between our flock and stat: try the new file
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


@contextmanager
def job_lock(output: Path, *, wait: bool = False) -> Iterator[None]:
    """Exclusive right to render ``output``. Raises JobBusy if taken, unless ``wait``."""
    lock = lock_path(output)
    fd = _open_locked(lock, wait)
    try:
        yield
    finally:
        # Unlink while still holding the lock; whoever waited on the old inode notices
        # (see _open_locked) and re-checks the sidecar on the new one.
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)

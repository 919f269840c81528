"""What makes a batch resumable and safe to run twice on one folder.

* A job's key hashes its input bytes, its resolved settings and the motion model, so
  a changed portrait, audio, preset or checkpoint renders again.
* The key is recorded in ``OUTPUT.moda.json`` beside a finished video, with the
  video's size; a rerun skips a job whose video exists, whose recorded key matches and
  whose size is the recorded one. The video was checked (streams, frame count) before
  it got its name, and the record is written after it, so a record only ever
  vouches for a complete video. Anything else at the output's name is rendered again.
* A job holds an exclusive ``flock`` on ``.OUTPUT.lock`` while it renders, so a second
  batch process on the same folder passes it by instead of writing the same file, and
  comes back at the end to wait for it (then finds it done). The kernel drops the lock
  if the process dies. A killed job's lock and temp files stay until the job runs
  again: it then takes the lock, deletes them (``remove_leftovers``), and unlinks the
  lock when it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import atomic_write, temp_name, temp_path_for
from ..errors import output_error

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
    settings_json = json.dumps(settings, sort_keys=True)
    for part in (file_digest(portrait), file_digest(audio), settings_json, model_id, __version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + SIDECAR_SUFFIX)


def _record(output: Path) -> dict[str, Any] | None:
    """The sidecar's content if it vouches for the file now at ``output``, else None."""
    try:
        record = json.loads(sidecar_path(output).read_text(encoding="utf-8"))
        size = output.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("video_bytes") != size or size == 0:
        return None
    return record


def is_done(output: Path, key: str) -> bool:
    """A finished video for ``key``: a record with that key, vouching for the file there."""
    record = _record(output)
    return record is not None and record.get("key") == key


def write_sidecar(output: Path, key: str, record: dict[str, Any]) -> None:
    """Record ``key`` and the video's size beside ``output``; the caller holds the job lock.

    Raises OutputError (the record is not written) if the disk is full or failing.
    """
    try:
        size = output.stat().st_size
    except OSError as exc:
        raise output_error(exc, output, "cannot read the finished video") from None
    text = json.dumps({"key": key, "video_bytes": size, **record}, indent=2, default=str)
    atomic_write(sidecar_path(output), text, locked=True)


def remove_leftovers(output: Path) -> None:
    """With the job lock held: delete what a killed run of this job left (its temp video
    and temp record), and a video at ``output`` that no record vouches for (a truncated
    file, or one whose record could not be written), so it is never mistaken for done."""
    for path in (temp_path_for(output), temp_name(sidecar_path(output))):
        path.unlink(missing_ok=True)
    if _record(output) is None:
        output.unlink(missing_ok=True)
        sidecar_path(output).unlink(missing_ok=True)


class JobBusy(Exception):
    """Another process holds this job's lock."""


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

"""What makes a batch resumable and safe to run twice on one folder.

* A job's key hashes its input bytes, its resolved settings and the motion model, so
  a changed portrait, audio, preset or checkpoint renders again.
* The key is recorded in ``OUTPUT.moda.json`` beside a finished video; a rerun skips
  a job whose video exists and whose recorded key matches.
* A job holds an exclusive ``flock`` on ``.OUTPUT.lock`` while it renders, so a second
  batch process on the same folder skips it instead of writing the same file. The
  kernel drops the lock if the process dies.
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

SIDECAR_SUFFIX = ".moda.json"


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


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
    tmp.write_text(json.dumps({"key": key, **record}, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, side)


class JobBusy(Exception):
    """Another process holds this job's lock."""


@contextmanager
def job_lock(output: Path) -> Iterator[None]:
    lock = output.with_name(f".{output.name}.lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusy(str(output)) from None
        try:
            yield
        finally:
            # Unlink while still holding the lock: a waiter that opened the old file
            # re-checks the sidecar once it gets in, so nothing renders twice.
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
    finally:
        os.close(fd)


"""``-q`` for the native libraries: silence their C++ log lines, keep Python's stderr.

MediaPipe, TensorFlow Lite and absl write straight to file descriptor 2, from the graph's
own threads, while a graph is built and again on frames. MediaPipe's wheel never calls
``absl::InitializeLog``, and before it absl ignores ``GLOG_minloglevel`` and
``TF_CPP_MIN_LOG_LEVEL`` (measured: both set, the same eight lines still appear), so no
environment variable lowers them. A quiet command therefore points descriptor 2 at
/dev/null for as long as it runs, and gives Python's ``sys.stderr`` a copy of the original
descriptor, so moda's own errors and warnings still reach the terminal. Child processes
(pool workers, ffmpeg) inherit the silenced descriptor; their errors reach moda as
exceptions, not as stderr lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 goes to /dev/null inside the block; ``sys.stderr`` still prints."""
    python_stderr = sys.stderr
    python_stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    if _fileno(python_stderr) == 2:  # not when a test runner has replaced sys.stderr
        sys.stderr = os.fdopen(
            os.dup(saved),
            "w",
            buffering=1,
            encoding=python_stderr.encoding,
            errors="backslashreplace",
        )
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None

"""Where the models run, and the process-wide thread settings while jobs stream."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from ..choices import Device
from ..errors import UsageError
from ..machine import small_machine

GIL_SWITCH_S = 0.0005  # while streaming (see StreamingThreads)


def resolve_device(device: Device) -> str:
    """The torch device for ``device``: auto is cuda where torch sees a GPU, else cpu."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            "--device cuda was asked for but torch sees no CUDA device", hint="use --device cpu"
        )
    return device


class StreamingThreads:
    """Thread settings while motion, rendering and encoding run together; restored after.

    The GIL changes hands every GIL_SWITCH_S instead of Python's 5 ms: the sampler drops
    and retakes it around each of the thousands of small torch operations in a window,
    and with the render threads and the writer busy, each retake could wait a whole
    interval (60 s at 512 px on 2 cores: 12.5-13.9 s -> 10.3-11.2 s).

    On small machines, one OpenCV thread and one torch thread: x264's threads and the
    sampler already keep every core busy, and splitting each small remap or matrix
    product across threads only adds hand-offs that compete with them. On larger
    machines the libraries' own thread counts are left alone.

    The settings are the process's: with jobs in several threads, the first job in
    applies them and the last one out restores them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs = 0
        self._switch_interval, self._cv2_threads = 0.0, 0
        self._torch_threads: int | None = None  # None: torch's setting untouched so far

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._jobs == 0:
                self._switch_interval = sys.getswitchinterval()
                self._cv2_threads = cv2.getNumThreads()
                sys.setswitchinterval(GIL_SWITCH_S)
                if small_machine():
                    cv2.setNumThreads(1)
            # torch loads with the first learned job, which may come while others run
            torch = sys.modules.get("torch") if small_machine() else None
            if torch is not None and self._torch_threads is None:
                self._torch_threads = torch.get_num_threads()
                torch.set_num_threads(1)
            self._jobs += 1
        try:
            yield
        finally:
            with self._lock:
                self._jobs -= 1
                if self._jobs == 0:
                    sys.setswitchinterval(self._switch_interval)
                    cv2.setNumThreads(self._cv2_threads)
                    if self._torch_threads is not None:
                        sys.modules["torch"].set_num_threads(self._torch_threads)
                        self._torch_threads = None


streaming_threads = StreamingThreads()

"""CPU time a thread spent, counting what helper threads spent on its behalf.

A stream whose windows a ``WindowBatcher`` solves in its own thread would otherwise
report almost no motion CPU: the batcher ``charge``s each waiting thread its share of a
solve, and ``thread_cpu`` adds those shares to the thread's own time.
"""

from __future__ import annotations

import threading
import time

_charged = threading.local()


def charge(seconds: float) -> None:
    """Count ``seconds`` of another thread's CPU as this thread's."""
    _charged.seconds = getattr(_charged, "seconds", 0.0) + seconds


def thread_cpu() -> float:
    """Like ``time.thread_time``, plus everything charged to this thread so far."""
    return time.thread_time() + getattr(_charged, "seconds", 0.0)

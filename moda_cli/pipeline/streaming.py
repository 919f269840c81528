"""Motion sampled ahead of rendering: an iterator run in a thread of its own."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..cpu_time import thread_cpu


class Ahead:
    """Runs an iterator in a thread of its own, up to ``depth`` items ahead of the consumer.

    Motion sampling (torch, which releases the GIL) then overlaps rendering and encoding.
    An exception in the iterator is raised in the consumer; leaving the ``with`` early
    (an error, Ctrl-C) stops the thread after its current item.
    """

    def __init__(self, items: Iterator[np.ndarray], depth: int = 2) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="moda-motion", daemon=True)
        self.cpu_seconds = 0.0  # the thread's own CPU time, once it has finished

    def _put(self, kind: str, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        start = thread_cpu()
        try:
            for item in self._items:
                if not self._put("item", item):
                    return
            self._put("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put("error", exc)
        finally:
            self.cpu_seconds = thread_cpu() - start  # with windows solved for it by a batcher

    def __enter__(self) -> Iterator[np.ndarray]:
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator[np.ndarray]:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

"""Where a dub's time went: wall seconds per stage, CPU seconds by who spent them
(``DubResult.stage_cpu_seconds``)."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from typing import Any

from ..cpu_time import thread_cpu


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    """``fn(*args)`` and the CPU seconds of the thread that ran it."""
    start = thread_cpu()
    return fn(*args), thread_cpu() - start


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the ffmpeg runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall seconds per stage into ``seconds``; the process's and its children's CPU
    seconds per stage, and ``parts`` measured by the threads themselves (model loading,
    motion sampling, the writer's conversion and encoder), for ``cpu_split``."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.cpu: dict[str, float] = {}
        self.children: dict[str, float] = {}
        self.parts: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - cpu
            self.children[stage] = self.children.get(stage, 0.0) + _children_cpu() - children

    def cpu_split(self) -> dict[str, float]:
        """CPU seconds by where they went (``DubResult.stage_cpu_seconds``)."""
        p = self.parts
        split = {
            "decode 1": self.children["track"],
            "decode 2": self.children["render"] - p["x264"],
            "load": p["load"],
            "track": self.cpu["track"] - p["load"],
            "motion": p["motion"],
            "render": self.cpu["render"] - p["motion"] - p["yuv"],
            "yuv": p["yuv"],
            "x264": p["x264"],
        }
        split["other"] = sum(self.cpu.values()) + sum(self.children.values()) - sum(split.values())
        return {k: round(v, 3) for k, v in split.items()}

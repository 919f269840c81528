"""Where a job's time, CPU and memory go: a per-stage meter with a memory-sampling thread."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
R = TypeVar("R")


def peak_rss_mb() -> float:
    """The process's resident-memory high-water mark so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory now, in MB (Linux /proc); 0.0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def timed(fn: Callable[[A], R], arg: A) -> tuple[R, float]:
    """fn(arg) and the CPU seconds it took in this thread (for work handed to a pool)."""
    start = time.thread_time()
    result = fn(arg)
    return result, time.thread_time() - start


class StageMeter:
    """Where a job's wall time, CPU time and memory go, stage by stage.

    The job's own thread ``switch``es from stage to stage, and every wall second goes to
    the stage it is in, so ``seconds`` add up to the job's wall time even though motion
    sampling and encoding run beside rendering in other threads and processes: what the
    job spends waiting for them is theirs. ``cpu_seconds`` is the CPU each stage used
    wherever it ran (``add_cpu`` for the other threads and ffmpeg). A stage's peak memory
    is this process's resident set, sampled every ``interval`` seconds, and the exact
    high-water mark when it rises during the stage.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}
        self._stage: str | None = None
        self._since = self._cpu_since = 0.0
        self._high_water = peak_rss_mb()
        self._stop = threading.Event()
        self._sampler = threading.Thread(
            target=self._sample, args=(interval,), name="moda-rss", daemon=True
        )
        self._sampler.start()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            stage = self._stage
            if stage is not None:
                self._peak(stage, current_rss_mb())

    def _peak(self, stage: str, mb: float) -> None:
        self.peak_rss_mb[stage] = max(self.peak_rss_mb.get(stage, 0.0), mb)

    def switch(self, stage: str | None) -> None:
        """From now on, this thread's time is ``stage``'s (None: the job is over)."""
        now, cpu = time.perf_counter(), time.thread_time()
        if self._stage is not None:
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + now - self._since
            self.add_cpu(self._stage, cpu - self._cpu_since)
            high_water = peak_rss_mb()
            if high_water > self._high_water:  # the process's peak rose during this stage
                self._high_water = high_water
                self._peak(self._stage, high_water)
        if stage is not None and stage not in self.seconds:  # later visits: the 20 ms sampler
            self.seconds[stage] = 0.0
            self._peak(stage, current_rss_mb())
        self._stage, self._since, self._cpu_since = stage, now, cpu

    def add_cpu(self, stage: str, seconds: float) -> None:
        self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + seconds

    def close(self) -> None:
        self.switch(None)
        self._stop.set()
        self._sampler.join()

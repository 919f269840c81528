"""Windows of concurrent jobs sampled together: one ODE solve for many streams.

A job's windows are sampled in order, each prompted by the previous one, so a job cannot
batch its own windows; several jobs streaming at once can. Each stream hands its next
window (noise and condition, batch 1) to ``WindowBatcher.sample`` and blocks; one thread
takes every window waiting (up to ``max_batch``, after at most ``gather_s`` for more),
solves them in one batch (the guided and unguided halves batched too) and hands each
stream its row. A forward costs nearly the same for 1 window as for 8 when kernel
launches and op dispatch dominate (a GPU; this model on a CPU), so throughput grows with
the number of streams.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import torch

from ..cpu_time import charge
from .model import MotionCond

# Solves a batch: (noise (B, W, D), condition of batch B) -> sampled windows (B, W, D).
# Windows are batched only with others of the same key (model and solver settings).
BatchSolve = Callable[[torch.Tensor, MotionCond], torch.Tensor]


@dataclass
class _Window:
    noise: torch.Tensor  # (1, W, D)
    cond: MotionCond  # batch 1
    key: tuple[object, ...]
    solve: BatchSolve
    result: Future[torch.Tensor]
    cpu_seconds: float = 0.0  # this window's share of its batch's solve


class WindowBatcher:
    """Batches the windows that streams in several threads ask for at the same time."""

    def __init__(self, max_batch: int = 16, gather_s: float = 0.001) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.max_batch = max_batch
        self.gather_s = gather_s
        self.largest_batch = 0  # the most windows solved together so far
        self._queue: queue.Queue[_Window] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="moda-windows", daemon=True)
        self._thread.start()

    def sample(
        self, noise: torch.Tensor, cond: MotionCond, key: tuple[object, ...], solve: BatchSolve
    ) -> torch.Tensor:
        """One window, (1, W, D) noise -> (1, W, D) sample; blocks until its batch is solved.

        ``solve`` must give each row the result it would give that row alone (the model
        treats rows independently); windows batch only with others of the same ``key``,
        which must say everything ``solve`` depends on (model, solver, steps, guidance).
        """
        window = _Window(noise, cond, key, solve, Future())
        self._queue.put(window)
        try:
            return window.result.result()
        finally:
            charge(window.cpu_seconds)

    def _gather(self) -> list[_Window]:
        windows = [self._queue.get()]
        deadline = time.monotonic() + self.gather_s
        while len(windows) < self.max_batch:
            try:
                windows.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
            except queue.Empty:
                break
        return windows

    @torch.inference_mode()
    def _run(self) -> None:
        while True:
            windows = self._gather()
            groups: dict[tuple[object, ...], list[_Window]] = {}
            for w in windows:
                groups.setdefault(w.key, []).append(w)
            for group in groups.values():
                self.largest_batch = max(self.largest_batch, len(group))
                start = time.thread_time()
                error: BaseException | None = None
                try:
                    x = group[0].solve(
                        torch.cat([w.noise for w in group]), MotionCond.cat([w.cond for w in group])
                    )
                except BaseException as exc:  # each waiting stream raises it
                    error = exc
                share = (time.thread_time() - start) / len(group)
                for i, w in enumerate(group):
                    w.cpu_seconds = share  # set before the result wakes the stream that reads it
                    if error is None:
                        w.result.set_result(x[i : i + 1])
                    else:
                        w.result.set_exception(error)

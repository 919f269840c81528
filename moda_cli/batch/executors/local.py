"""``--executor local``: the jobs run on this machine.

One worker (or one job) renders in this thread, with per-job progress. N workers run N
jobs at once, either in N threads of this process sharing one engine (``threads.py``:
the models load once, and the learned generator samples the jobs' windows in one
batch) or in a pool of N processes whose workers each load the models once
(``processes.py``: no GIL between the jobs' Python parts). ``--pool auto`` takes
threads on a GPU and processes on a CPU.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ...pipeline import resolve_device
from ..execute import execute_job
from ..jobs import ResolvedJob
from .base import Executor, ExecutorContext, OnDone


class LocalExecutor:
    def __init__(self, context: ExecutorContext):
        self.context = context

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        self._pick(len(jobs)).run(jobs, on_done)

    def _pick(self, num_jobs: int) -> Executor:
        from .processes import ProcessExecutor
        from .threads import ThreadExecutor

        workers = min(self.context.options.workers, num_jobs)
        if workers == 1:
            return SerialExecutor(self.context)
        if self._in_threads():
            return ThreadExecutor(self.context, workers)
        return ProcessExecutor(self.context, workers)

    def _in_threads(self) -> bool:
        """Threads on a GPU: one CUDA context, one copy of the models, and the jobs' windows
        batched into each forward. Processes on a CPU: no GIL between the jobs' Python parts."""
        pool = self.context.options.pool
        if pool != "auto":
            return pool == "threads"
        return resolve_device(self.context.engine_options.device) != "cpu"


class SerialExecutor:
    """One job after another in this thread, each showing its stages. Ctrl-C reaches the
    running job directly: it unwinds, and its writer deletes its temp file."""

    def __init__(self, context: ExecutorContext):
        self.context = context

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        events = self.context.events
        for item in jobs:
            events.job_started(item.record)
            progress = functools.partial(events.job_progress, item.record)
            on_done(item, execute_job(item, self.context.engine_options, progress))

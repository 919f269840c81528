"""The executor contract, its registry, and the one place an interruption is handled.

An executor runs resolved jobs somewhere (this thread, a pool, a cluster) and reports
each job as it ends::

    class Executor(Protocol):
        def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None: ...

``jobs`` are ``batch.jobs.ResolvedJob``s (they pickle); each runs through
``batch.execute.execute_job``, wherever the executor puts it. ``on_done(job, final)``
is called in the calling thread once per job that ended, with the record
``execute_job`` returned (the job's own or a copy from another process) or the
exception that lost it (a dead worker). On ``KeyboardInterrupt`` in the calling thread
(Ctrl-C, or SIGTERM, which the CLI turns into it) an executor stops its running jobs so
that each unwinds (its video writer deletes its temp file), waits for them, reports any
that ended, and lets the interrupt propagate: ``run_on`` does the rest, for every
executor.

``EXECUTORS`` maps a name (``--executor``) to a factory that builds the executor for one
batch from an ``ExecutorContext``; a class whose ``__init__`` takes the context is one.
This module imports no model code: the CLI reads the names before any model loads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Protocol

from ...registry import Registry

if TYPE_CHECKING:
    from ...pipeline import EngineOptions
    from ..jobs import BatchEvents, BatchOptions, JobRecord, ResolvedJob

OnDone = Callable[["ResolvedJob", "JobRecord | BaseException"], None]


class Executor(Protocol):
    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        """Run every job of ``jobs`` and report each through ``on_done`` (module docstring)."""


@dataclass(frozen=True)
class ExecutorContext:
    """What an executor is built from, once per batch."""

    options: BatchOptions  # workers, pool, ray_address: the executor's own settings
    engine_options: EngineOptions  # execute_job's, wherever the jobs run
    events: BatchEvents  # for jobs run in this thread: job_started and job_progress


ExecutorFactory = Callable[[ExecutorContext], Executor]
EXECUTORS: Registry[ExecutorFactory] = Registry("executor")
ExecutorName = Annotated[str, EXECUTORS]  # an executor's name (``BatchOptions.executor``)


def run_on(executor: Executor, jobs: Sequence[ResolvedJob], events: BatchEvents) -> None:
    """Run ``jobs`` on ``executor``: each ended job's record is settled and shown.

    On an interruption, the jobs that did not end (running, or not started) are
    ``interrupted``; the interrupt goes on to the caller, which removes partial files
    and exits 130.
    """
    if not jobs:
        return

    def on_done(item: ResolvedJob, final: JobRecord | BaseException) -> None:
        item.record.settle(final)
        events.job_finished(item.record)

    try:
        executor.run(jobs, on_done)
    except KeyboardInterrupt:
        for item in jobs:
            if item.record.status == "planned":
                item.record.status = "interrupted"
                item.record.error = "stopped before the video was complete"
        raise


def run_futures(
    jobs: Sequence[ResolvedJob],
    submit: Callable[[ResolvedJob], Future[JobRecord]],
    on_done: OnDone,
    stop: Callable[[], None],
) -> None:
    """The body of an executor that hands jobs to futures (a pool, a cluster).

    ``submit`` starts one job and returns the future of its record; ``stop`` (on an
    interruption) makes the running jobs unwind and waits for them. Jobs whose futures
    completed meanwhile are still reported: their videos and records exist.
    """
    pending: dict[Future[JobRecord], ResolvedJob] = {}
    try:
        for item in jobs:
            pending[submit(item)] = item
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                on_done(pending.pop(future), _final(future))
    except BaseException:
        stop()
        for future, item in pending.items():
            if _completed(future):
                on_done(item, future.result())
        raise


def _final(future: Future[JobRecord]) -> JobRecord | BaseException:
    try:
        return future.result()
    except BaseException as exc:  # a worker that died (killed, out of memory)
        return exc


def _completed(future: Future[JobRecord]) -> bool:
    try:
        return future.done() and not future.cancelled() and future.exception() is None
    except BaseException:
        return False

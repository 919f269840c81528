"""N jobs at a time in a pool of spawned processes; each worker loads the models once
and uses its share of the cores.

Ctrl-C on the terminal reaches the whole process group, so workers ignore SIGINT and
wait for the parent: it sends SIGTERM, and a worker in a job unwinds it (the video
writer deletes its temp file) and exits; an idle worker just exits.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from ...pipeline import EngineOptions
from ..execute import execute_job, set_library_threads
from ..jobs import JobRecord, ResolvedJob
from .base import ExecutorContext, OnDone, run_futures


class ProcessExecutor:
    def __init__(self, context: ExecutorContext, workers: int):
        self.context, self.workers = context, workers

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("spawn"),
            initializer=_worker_init,
            initargs=(threads,),
        )

        def stop_jobs() -> None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()  # SIGTERM: a worker in a job deletes its partial file and exits
            pool.shutdown(wait=True, cancel_futures=True)

        def submit(item: ResolvedJob) -> Future[JobRecord]:
            return pool.submit(_pool_job, item, self.context.engine_options)

        run_futures(jobs, submit, on_done, stop_jobs)
        pool.shutdown(wait=True)


# -- in the worker processes ------------------------------------------------------------

_IN_JOB = False  # is a job running (so SIGTERM must clean up)?


def _worker_init(threads: int) -> None:
    set_library_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, _worker_sigterm)


def _worker_sigterm(signum: int, frame: Any) -> None:
    if _IN_JOB:
        raise KeyboardInterrupt  # unwinds the job: the video writer deletes its temp file
    os._exit(130)  # idle: nothing to clean up, and no traceback from the pool's internals


def _pool_job(resolved: ResolvedJob, engine_options: EngineOptions) -> JobRecord:
    global _IN_JOB
    _IN_JOB = True
    try:
        return execute_job(resolved, engine_options)
    except KeyboardInterrupt:
        # Stopped by the parent and cleaned up: exit now rather than take the next
        # queued job. The parent reads the broken future as "interrupted".
        os._exit(130)
    finally:
        _IN_JOB = False

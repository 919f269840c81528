"""N jobs at a time in threads of this process, sharing one engine: the models load
once, and the learned generator samples the jobs' motion windows together."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ..execute import execute_job
from ..jobs import JobRecord, ResolvedJob
from .base import ExecutorContext, OnDone, run_futures


class ThreadExecutor:
    def __init__(self, context: ExecutorContext, workers: int):
        self.context, self.workers = context, workers

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="moda-job")
        stop = threading.Event()

        def stop_when_asked(stage: str, done: int, total: int) -> None:
            if stop.is_set():  # Ctrl-C or SIGTERM reached the main thread
                raise KeyboardInterrupt  # unwinds the job: its writer deletes the temp file

        def submit(item: ResolvedJob) -> Future[JobRecord]:
            # The job's stages are not shown: its progress hook only stops it when asked.
            return pool.submit(
                execute_job, item, self.context.engine_options, stop_when_asked, self.workers
            )

        def stop_jobs() -> None:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

        run_futures(jobs, submit, on_done, stop_jobs)
        pool.shutdown(wait=True)

"""``--executor ray``: one Ray task per job, on a cluster (a local one unless
``--ray-address`` names one). Ray's worker processes keep their engine between tasks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, wait
from typing import Any

from ...errors import UsageError
from ...pipeline import EngineOptions
from ..execute import execute_job, set_library_threads
from ..jobs import JobRecord, ResolvedJob
from .base import ExecutorContext, OnDone, run_futures

CANCEL_WAIT_S = 10  # after Ctrl-C: how long the cancelled tasks get to delete their files


class RayExecutor:
    def __init__(self, context: ExecutorContext):
        self.context = context

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        options = self.context.options
        ray, started_here = _start_ray(options.ray_address, options.workers)
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
        refs: dict[Future[JobRecord], Any] = {}

        def submit(item: ResolvedJob) -> Future[JobRecord]:
            ref = remote.remote(item, self.context.engine_options, 1)
            future: Future[JobRecord] = ref.future()
            refs[future] = ref
            return future

        def stop_jobs() -> None:
            running = [future for future in refs if not future.done()]
            for future in running:
                ray.cancel(refs[future])  # KeyboardInterrupt in the task: its writer cleans up
            wait(running, timeout=CANCEL_WAIT_S)

        try:
            run_futures(jobs, submit, on_done, stop_jobs)
        finally:
            if started_here:
                ray.shutdown()


def _ray_job(resolved: ResolvedJob, engine_options: EngineOptions, threads: int) -> JobRecord:
    set_library_threads(threads)
    return execute_job(resolved, engine_options)


def _start_ray(address: str | None, workers: int) -> tuple[Any, bool]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # read when Ray starts; no token prompts
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray", hint="pip install 'moda-cli[ray]'") from None
    if ray.is_initialized():
        return ray, False
    if address is None:
        cpus = workers if workers > 1 else (os.cpu_count() or 1)
        env = {"OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": env},
        )
    else:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray, True

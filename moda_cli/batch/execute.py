"""One job in this process, whichever executor runs it: take its lock, skip it if done,
render it on the process's engine, check it (``--qc``), record it beside its video."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import asdict

from ..pipeline import Engine, EngineOptions, Job, JobProgress, check_job
from .jobs import JobRecord, ResolvedJob, failure_reason
from .state import JobBusy, is_done, job_lock, remove_leftovers, sidecar_path, write_sidecar
from .videos import dub_video_job

_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def process_engine(options: EngineOptions, concurrent_jobs: int = 1) -> Engine:
    """One engine per process: models load once per worker, not once per job."""
    global _ENGINE
    with _ENGINE_LOCK:
        wanted = (options, concurrent_jobs)
        if _ENGINE is None or (_ENGINE.options, _ENGINE.concurrent_jobs) != wanted:
            _ENGINE = Engine(options, concurrent_jobs)
        return _ENGINE


def set_library_threads(threads: int) -> None:
    """Threads torch and OpenCV use in this process (a worker's share of the cores)."""
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def execute_job(
    resolved: ResolvedJob,
    engine_options: EngineOptions,
    progress: JobProgress | None = None,
    concurrent_jobs: int = 1,
) -> JobRecord:
    """Render one job unless it is already done or held by another process (with
    ``resolved.wait``, wait for that process and then look again). Never raises for a
    job's own failure: the record says what went wrong. ``concurrent_jobs``: how many
    threads of this process run jobs at once (they share the engine)."""
    record, job, wait = resolved.record, resolved.job, resolved.wait
    assert record.key is not None
    start = time.perf_counter()
    record.worker = os.getpid()
    try:
        with job_lock(job.output, wait=wait):
            if (not resolved.force or wait) and is_done(job.output, record.key):
                # (a forced job we waited for was just rendered by the other process)
                record.status, record.error = "skipped", None
                return record
            check_job(job)  # before deleting anything at the output's name
            remove_leftovers(job.output)
            engine = process_engine(engine_options, concurrent_jobs)
            result = dub_video_job(engine, job) if resolved.video else engine.render(job, progress)
            record.rendered(result)
            if resolved.qc:
                _quality_check(job, record, portrait=not resolved.video)
            record.seconds = round(time.perf_counter() - start, 3)
            _record_or_discard(job, record)
    except JobBusy:
        record.status, record.error = "busy", "another moda process is rendering this output"
    except KeyboardInterrupt:
        record.status, record.error = "interrupted", "stopped before the video was complete"
        raise
    except Exception as exc:  # one job's failure must never stop the batch
        record.status, record.error = "failed", failure_reason(exc)
    record.seconds = round(time.perf_counter() - start, 3)
    return record


def _record_or_discard(job: Job, record: JobRecord) -> None:
    """Write the finished video's record; if that fails (no space, a failing disk), the
    job failed: its video goes too, so no unrecorded output is left to look finished."""
    assert record.key is not None
    try:
        write_sidecar(job.output, record.key, asdict(record))
    except BaseException:
        for path in (job.output, sidecar_path(job.output)):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        raise


def _quality_check(job: Job, record: JobRecord, portrait: bool) -> None:
    """`moda qc` on the rendered video: its figures go in the record, each flag in the
    warnings. A check that cannot run is a warning: the video itself is fine. portrait:
    the job's visual input is the still the video animates (not a dubbed video)."""
    from ..qc import run_qc

    try:
        still = job.portrait if portrait else None
        report = run_qc(
            job.output, portrait=still, audio=job.audio, max_side=job.preset.render.max_side
        )
    except Exception as exc:
        record.warnings.append(f"qc could not run: {failure_reason(exc)}")
        return
    record.qc = report.to_json()
    record.warnings += [
        f"qc: {f.name} = {f.value:g} (want {f.limit}): {f.message}" for f in report.flags
    ]

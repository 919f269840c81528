"""Before rendering any job: decode every pending job's portrait (a face found) and audio,
so a bad input fails its job at once instead of after hours of other renders."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..audio.decode import load_audio
from ..audio.features import num_video_frames
from ..errors import ModaError
from ..pipeline import Engine, Job, check_job
from .jobs import BatchEvents, JobRecord, ResolvedJob, failure_reason
from .state import file_digest, is_done
from .videos import check_video_job

PREFLIGHT_THREADS = min(8, 2 * (os.cpu_count() or 1))

# (portrait bytes' digest, render settings as JSON) -> (faces found, the error if none)
FaceChecks = dict[tuple[str, str], tuple[int, BaseException | None]]


def preflight(
    resolved: list[ResolvedJob], engine: Engine, events: BatchEvents | None = None
) -> list[JobRecord]:
    """Decode every pending job's portrait (face found) and audio before rendering any.

    Jobs already done are marked skipped. A portrait shared by many jobs is checked once
    per render setting, in this thread (the detector is not thread-safe); audio decoding
    runs ffmpeg in child processes, so a few threads overlap it. Returns the failures.
    """
    events = events or BatchEvents()
    faces: FaceChecks = {}
    checked, total = 0, len(resolved)
    pool = ThreadPoolExecutor(PREFLIGHT_THREADS, thread_name_prefix="moda-preflight")
    try:
        futures = []
        for item in resolved:
            if _preflight_portrait(item, engine, faces):
                futures.append(pool.submit(_preflight_audio, item))
            else:
                checked += 1
                events.checking(checked, total)
        for future in as_completed(futures):
            future.result()
            checked += 1
            events.checking(checked, total)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not decode the rest
        raise
    pool.shutdown()
    return [item.record for item in resolved if item.record.status == "failed"]


def _preflight_portrait(item: ResolvedJob, engine: Engine, faces: FaceChecks) -> bool:
    """Skip a finished job, check paths and the face; True if its audio needs checking."""
    job, record = item.job, item.record
    try:
        if not item.force and record.key and is_done(job.output, record.key):
            record.status = "skipped"
            return False
        check_job(job)
        if item.video:  # a face in the video shows when it is tracked
            check_video_job(job)
            return True
        num_faces = _check_face(engine, job, faces)
        if num_faces > 1:
            record.warnings.append(
                f"{job.portrait}: {num_faces} faces found, animating the largest"
            )
        return True
    except Exception as exc:
        record.status, record.error = "failed", failure_reason(exc)
        return False


def _preflight_audio(item: ResolvedJob) -> None:
    job, record = item.job, item.record
    try:
        audio = load_audio(job.audio)
        record.frames = num_video_frames(audio.duration_s, job.preset.video.fps)
        record.audio_seconds = round(audio.duration_s, 3)
    except Exception as exc:
        record.status, record.error = "failed", failure_reason(exc)


def _check_face(engine: Engine, job: Job, seen: FaceChecks) -> int:
    key = (file_digest(job.portrait), job.preset.render.model_dump_json())
    if key not in seen:
        try:
            seen[key] = (engine.load_face(job)[1].num_faces, None)
        except Exception as exc:
            seen[key] = (0, exc)
    num_faces, error = seen[key]
    if error is None:
        return num_faces
    if isinstance(error, ModaError) and error.path not in (None, job.portrait):
        # The same bytes under another name: the same cause, naming this job's file.
        raise ModaError(error.args[0], path=job.portrait, hint=error.hint)
    raise error

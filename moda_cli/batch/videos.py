"""Video jobs in a batch: a job whose visual input is a video dubs it (``moda_cli.dub``)
instead of animating a portrait, as `moda render VIDEO AUDIO` does.

Which kind a job is, the file's content decides (``video.source.is_video``), once per
file; locks, resume keys, reports and ``--qc`` are the same for both kinds. A batch's
video jobs use the dubbing defaults (``--fit audio``, ``--keep-audio none``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the planner imports this module: no models or codecs at its import
    from ..dub import DubJob
    from ..pipeline import Engine, Job, JobResult

# Extensions a video may have; only these files are probed when a folder is planned.
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}


def is_video_input(path: Path) -> bool:
    """Whether ``path`` holds a video (more than one frame), by its content. Probed once
    per file (path, size, time): a portrait shared by a thousand jobs costs one probe."""
    stat = os.stat(path)
    return _is_video(Path(os.path.realpath(path)), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _is_video(path: Path, size: int, mtime_ns: int) -> bool:
    from ..video.source import is_video

    return is_video(path)


def _dub_job(job: Job) -> DubJob:
    from ..dub import DubJob

    return DubJob(job.portrait, job.audio, job.output, job.preset)


def check_video_job(job: Job) -> None:
    """Preflight of a video job: the video and the audio readable, the output writable
    (``dub.check_dub``); whether a face shows is known once the video is tracked."""
    from ..dub import check_dub

    check_dub(_dub_job(job))


def dub_video_job(engine: Engine, job: Job) -> JobResult:
    """Dub ``job``'s video with ``engine``'s models; the result in a portrait job's terms,
    so that its report record and resume key are made the same way."""
    from ..dub import Dubber
    from ..pipeline import JobResult

    result = Dubber(engine).dub(_dub_job(job))
    return JobResult(
        output=result.output,
        frames=result.frames,
        audio_seconds=result.audio_seconds,
        stage_seconds=result.stage_seconds,
        peak_rss_mb=result.peak_rss_mb,
        seed=job.preset.seed,
        generator=job.preset.motion.generator,
        num_faces=1,
        warnings=result.warnings,
    )

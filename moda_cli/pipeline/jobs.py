"""A job, its result, the engine's options, and the checks made before any model loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..choices import Device
from ..errors import InputError, UsageError, missing_file_error
from ..face.detectors import Detector
from ..presets import Preset
from ..video.formats import OUTPUT_FORMATS
from ..video.writer import check_output

Stage = Literal["face", "audio", "motion", "render", "encode"]
# Called with (stage, done, total) as a job advances; the CLI turns it into progress bars.
JobProgress = Callable[[Stage, int, int], None]


@dataclass
class EngineOptions:
    device: Device = "auto"
    detector: Detector = "mediapipe"
    insightface_root: Path | None = None
    motion_checkpoint: Path | None = None
    whisper_checkpoint: Path | None = None


@dataclass
class Job:
    """One video. motion_in: a motion file rendered instead of sampling; motion_out: where
    to write the motion that was rendered (``motion.motionfile``)."""

    portrait: Path
    audio: Path
    output: Path
    preset: Preset
    motion_in: Path | None = None
    motion_out: Path | None = None


@dataclass
class JobResult:
    output: Path
    frames: int
    audio_seconds: float
    stage_seconds: dict[str, float]
    peak_rss_mb: float
    seed: int
    generator: str
    num_faces: int
    warnings: list[str] = field(default_factory=list)
    # Peak resident memory of this process during each stage, same keys as stage_seconds
    # (ffmpeg's own memory is not included: it is a separate process).
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    # CPU seconds of each stage wherever it ran: motion in its thread, encode in the
    # writer's thread and in ffmpeg. stage_seconds are wall seconds of the job's thread.
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "output": str(self.output), "realtime_factor": self.realtime_factor}

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())

    @property
    def realtime_factor(self) -> float:
        return self.total_seconds / max(self.audio_seconds, 1e-9)


def check_job(job: Job) -> None:
    """Fast checks before anything is decoded or loaded."""
    for label, path in (("portrait", job.portrait), ("audio", job.audio)):
        if not path.exists():  # missing, or a symlink loop / dangling link: say which
            raise missing_file_error(label, path)
        if path.is_dir():
            raise InputError(f"{label} is a folder, expected a file", path=path)
    name = job.preset.video.format
    extension = OUTPUT_FORMATS.get(name).extension
    if job.output.suffix.lower() != extension:
        raise UsageError(
            f"the output's name must end in {extension} (video.format {name})", path=job.output
        )
    if job.output.resolve() in (job.portrait.resolve(), job.audio.resolve()):
        raise UsageError("the output would overwrite an input", path=job.output)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    check_output(job.output)  # a folder in its place, or read-only: before any model loads
    _check_motion_files(job)


def _check_motion_files(job: Job) -> None:
    """A motion file to read is read now (a bad one fails before any model loads)."""
    from ..motion.motionfile import check_motion_path, read_motion

    if job.motion_in is not None:
        if job.preset.motion.pose_from is not None:
            raise UsageError(
                "a motion file gives the whole motion: leave out the pose "
                "reference (--pose-from, motion.pose_from)",
                path=job.motion_in,
            )
        read_motion(job.motion_in)
    if job.motion_out is not None:
        check_motion_path(job.motion_out, "out")
        if job.motion_out.resolve() in (
            job.output.resolve(),
            job.portrait.resolve(),
            job.audio.resolve(),
        ):
            raise UsageError(
                "the motion file would overwrite an input or the video", path=job.motion_out
            )
        job.motion_out.parent.mkdir(parents=True, exist_ok=True)

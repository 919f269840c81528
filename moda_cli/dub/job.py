"""1. A dub job, its result, and the checks it passes before anything is decoded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..audio.decode import check_audio
from ..choices import Fit, KeepAudio
from ..errors import UsageError
from ..pipeline import Job, check_job
from ..presets import Preset
from ..video.source import VideoInfo, probe_video


@dataclass
class DubJob:
    video: Path
    audio: Path
    output: Path
    preset: Preset
    fit: Fit = "audio"
    keep_audio: KeepAudio = "none"


@dataclass
class DubResult:
    output: Path
    frames: int
    audio_seconds: float
    stage_seconds: dict[str, float]
    # CPU seconds by where they went: "decode 1", "decode 2" (ffmpeg reading the source
    # in the tracking and the render pass), "load" (torch, the audio's features and the
    # motion model, made in a thread beside the tracking pass), "track" (the mesh
    # and mouth library, pass 1), "motion" (sampling), "render" (warp and mouth, pass 2),
    # "yuv" (the writer's conversion), "x264" (the encoder), "other" (checks, audio, plan)
    stage_cpu_seconds: dict[str, float]
    peak_rss_mb: float
    dubbed: float  # share of output frames whose mouth was replaced (partly or wholly)
    shots: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "output": str(self.output), "realtime_factor": self.realtime_factor}

    @property
    def realtime_factor(self) -> float:
        return sum(self.stage_seconds.values()) / max(self.audio_seconds, 1e-9)


def check_dub(job: DubJob) -> VideoInfo:
    """1. Fast checks before anything is decoded or loaded (a portrait job's, on the video
    in the portrait's place, then the video's and the audio's headers); its VideoInfo."""
    if job.preset.motion.pose_from is not None:
        raise UsageError(
            "--pose-from (motion.pose_from) drives a portrait; a dubbed video keeps its own head",
            path=job.video,
        )
    check_job(Job(job.video, job.audio, job.output, job.preset))
    info = probe_video(job.video)
    check_audio(job.audio)
    return info

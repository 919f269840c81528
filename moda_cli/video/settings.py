"""The encoder's settings: output format, frame rate, quality and speed, the speech's
bitrate (the preset's ``video:`` section)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..strict import StrictModel
from .formats import VideoFormat


class VideoSettings(StrictModel):
    format: VideoFormat = Field("mp4", description="codecs and container; the output's extension")
    fps: float = Field(25.0, ge=10.0, le=60.0)
    crf: int = Field(18, ge=0, le=51)
    encoder_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"
    ] = "veryfast"
    audio_bitrate: str = "128k"

"""The motion stage's settings: which generator, how it samples, how much each part of the
face moves (the preset's ``motion:`` section). Importing this loads no torch."""

from __future__ import annotations

from pydantic import Field

from ..facemodel.emotions import EmotionChoice
from ..strict import StrictModel
from .generators import Generator
from .solvers import Solver


class MotionSettings(StrictModel):
    generator: Generator = "learned"
    head: float = Field(1.0, ge=0.0, le=3.0, description="head-motion amplitude (0 = still head)")
    expression: float = Field(1.0, ge=0.0, le=3.0, description="brow/smile amplitude")
    lips: float = Field(1.0, ge=0.0, le=2.0, description="lip and jaw amplitude")
    blink_rate: float = Field(17.0, ge=0.0, le=60.0, description="blinks per minute")
    smoothing: int = Field(3, ge=1, le=15, description="moving-average frames on head pose")
    steps: int = Field(4, ge=1, le=100, description="flow-matching ODE steps")
    solver: Solver = "euler"
    guidance: float = Field(1.2, ge=0.0, le=5.0, description="classifier-free guidance scale")
    emotion: EmotionChoice = "none"
    pose_from: str | None = Field(
        None,
        description="video whose head pose, blinks and brows "
        "the portrait follows (--pose-from); the mouth follows the audio",
    )

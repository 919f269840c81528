"""The motion stage's settings: which generator, how it samples, how much each part of the
face moves (the preset's ``motion:`` section). Importing this loads no torch."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from ..facemodel.emotions import EMOTIONS, EmotionMix, format_mix, parse_mix
from ..strict import StrictModel
from .generators import Generator
from .solvers import Solver

# ``motion.emotion``: a mixture of labels with intensities 0..1, kept in its canonical text
# (``emotions.format_mix``), so a preset shows and hashes one spelling of it.
EmotionText = Annotated[
    str,
    AfterValidator(lambda text: format_mix(parse_mix(text))),
    WithJsonSchema(
        {
            "type": "string",
            "description": "none, one label (intensity 1) or label:intensity pairs 0..1, "
            f"comma-separated; labels: {', '.join(EMOTIONS)}",
            "examples": ["none", "happiness", "happiness:0.6,surprise:0.2"],
        }
    ),
]
# ``motion.gaze`` (``gaze.py``): eye contact with small saccades and glances away in
# thinking pauses; steady eye contact (news anchor); or looking off-camera.
Gaze = Literal["camera", "steady", "away"]


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
    emotion: EmotionText = "none"
    gaze: Gaze = "camera"
    pose_from: str | None = Field(
        None,
        description="video whose head pose, blinks and brows "
        "the portrait follows (--pose-from); the mouth follows the audio",
    )

    @property
    def emotion_mix(self) -> EmotionMix:
        """``emotion`` parsed: label -> intensity 0..1 ({} for none)."""
        return parse_mix(self.emotion)

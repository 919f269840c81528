"""The renderer's settings: the working crop, what the output shows, how large a portrait
is rendered (the preset's ``render:`` section). ``face.detect.Crop`` restates the crop's
defaults for the face stage, which sits below this one (a test keeps them equal)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..face.settings import MAX_SIDE
from ..strict import StrictModel


class RenderSettings(StrictModel):
    size: int = Field(512, ge=128, le=1024, description="working crop resolution in pixels")
    crop_scale: float = Field(2.3, ge=1.5, le=4.0, description="crop side / face box side")
    crop_offset_y: float = Field(
        -0.125, ge=-0.5, le=0.5, description="crop centre shift (box heights)"
    )
    output: Literal["pasteback", "crop"] = "pasteback"
    mouth_interior: bool = True
    # A phone photo would otherwise make a phone-photo-sized video: on 2 cores a 3840x2160
    # photo took 14.3 s and 1.1 GB for 10 s of speech, capped at 1920 px 7.3 s and 0.5 GB.
    max_side: int = Field(
        1920,
        ge=256,
        le=MAX_SIDE,
        description="portraits are downscaled to this longest side first; the paste-back "
        "video's size",
    )

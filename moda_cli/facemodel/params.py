"""The joint motion space: what the renderer consumes, motion files hold and every stage
after sampling writes.

Following MoDA, one vector per video frame describes the whole face: rigid head pose
followed by expression coefficients, here Apple ARKit's 52 face blendshapes with Apple's
names, meanings and order (``arkit.py`` lists them, with what 1.0 of each means), so that
what moda makes drives a 3D avatar and what a face-capture app records drives a photo.
D = 58. The motion model samples it, trained on rows made in a compact core of 17
channels, lifted (``core.py``), with the emotions' facial actions added; the baseline
samples the core and lifts it. The finish stage, the expression and gaze
layers, the renderer and the motion files all work in this space.

Units and conventions (all relative to the portrait as photographed, which is the
neutral frame 0 = "as in the photo"):

=============  =======  ==============  ==================================================
name           unit     typical range   meaning
=============  =======  ==============  ==================================================
pitch          degrees  -20 .. 20       nod, positive = chin down
yaw            degrees  -30 .. 30       turn, positive = towards the image's right
roll           degrees  -20 .. 20       tilt, positive = clockwise in the image
tx             face     -0.15 .. 0.15   horizontal shift, in units of the face box width
ty             face     -0.15 .. 0.15   vertical shift, in units of the face box width
scale          ratio    -0.15 .. 0.15   relative size change, 0.1 = 10 % larger
eyeBlinkLeft   0..1     0 .. 1          the 52 ARKit blendshapes (``arkit.BLENDSHAPES``),
...                                     0 = as in the photo, 1 = the full action
tongueOut      0..1     0 .. 1
=============  =======  ==============  ==================================================

Two shapes need a word. ``jawOpen`` 1.0 is ARKit's jaw fully open (about 45 mm between
the incisors); the renderer opens the inner lips by ``basis.lip_gap`` of
``jawOpen / core.JAW_GAIN`` (speech's widest opening, about 15 mm, is jawOpen 1/3) and
saturates there. ``mouthClose`` is ARKit's lips held shut over an open jaw: with
``mouthPressLeft/Right`` it seals the lips (``core.lip_press``). Gaze is the eight
``eyeLook*`` shapes (``arkit.EYE_LOOK_DEG``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arkit import BLENDSHAPES


@dataclass(frozen=True)
class ParamSpec:
    name: str
    unit: str
    low: float
    high: float
    doc: str


POSE_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("pitch", "deg", -20.0, 20.0, "nod, positive = chin down"),
    ParamSpec("yaw", "deg", -30.0, 30.0, "turn, positive = towards the image's right"),
    ParamSpec("roll", "deg", -20.0, 20.0, "tilt, positive = clockwise in the image"),
    ParamSpec("tx", "face", -0.15, 0.15, "horizontal shift in face-box widths"),
    ParamSpec("ty", "face", -0.15, 0.15, "vertical shift in face-box widths"),
    ParamSpec("scale", "ratio", -0.15, 0.15, "relative size change"),
)
BLENDSHAPE_SPECS: tuple[ParamSpec, ...] = tuple(
    ParamSpec(b.name, "0..1", 0.0, 1.0, b.doc) for b in BLENDSHAPES
)

PARAM_SPECS: tuple[ParamSpec, ...] = POSE_SPECS + BLENDSHAPE_SPECS
PARAM_NAMES: tuple[str, ...] = tuple(s.name for s in PARAM_SPECS)
NUM_PARAMS = len(PARAM_SPECS)  # D = 58
POSE_SLICE = slice(0, len(POSE_SPECS))  # the same six columns in the core channels
EXPRESSION_SLICE = slice(len(POSE_SPECS), NUM_PARAMS)  # the 52 blendshapes
ROTATION_SLICE = slice(0, 3)  # pitch, yaw, roll

LOW = np.array([s.low for s in PARAM_SPECS], dtype=np.float32)
HIGH = np.array([s.high for s in PARAM_SPECS], dtype=np.float32)


def index(name: str) -> int:
    """Column of a parameter by name; raises KeyError naming the valid names."""
    try:
        return PARAM_NAMES.index(name)
    except ValueError:
        raise KeyError(
            f"unknown motion parameter {name!r}; valid: {', '.join(PARAM_NAMES)}"
        ) from None


def indices(names: tuple[str, ...]) -> list[int]:
    return [index(n) for n in names]


@dataclass
class MotionSeq:
    """A motion sequence in the joint parameter space.

    params: (T, D) float32, columns in ``PARAM_NAMES`` order, one row per video frame.
    fps:    frames per second of the rows.
    """

    params: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        if self.params.ndim != 2 or self.params.shape[1] != NUM_PARAMS:
            raise ValueError(f"motion params must be (T, {NUM_PARAMS}), got {self.params.shape}")
        self.params = np.ascontiguousarray(self.params, dtype=np.float32)

    @property
    def num_frames(self) -> int:
        return int(self.params.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.params[:, index(name)]

    def clipped(self) -> MotionSeq:
        """Values clamped to the documented ranges (what the renderer is built for)."""
        return MotionSeq(np.clip(self.params, LOW, HIGH), self.fps)

    @staticmethod
    def neutral(num_frames: int, fps: float) -> MotionSeq:
        return MotionSeq(np.zeros((num_frames, NUM_PARAMS), np.float32), fps)

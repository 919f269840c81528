"""The joint motion parameter space: what the generator samples and the renderer consumes.

Following MoDA, one vector per video frame describes the whole face: rigid head pose
followed by named expression coefficients. Every generator (the learned flow-matching
model, the baseline) writes this layout and the renderer reads only this layout, so the
two halves of the pipeline meet at one documented contract.

Units and conventions (all relative to the portrait as photographed, which is the
neutral frame 0 = "as in the photo"):

===========  =======  ==============  ====================================================
name         unit     typical range   meaning
===========  =======  ==============  ====================================================
pitch        degrees  -20 .. 20       nod, positive = chin down
yaw          degrees  -30 .. 30       turn, positive = towards the image's right
roll         degrees  -20 .. 20       tilt, positive = clockwise in the image
tx           face     -0.15 .. 0.15   horizontal shift, in units of the face box width
ty           face     -0.15 .. 0.15   vertical shift, in units of the face box width
scale        ratio    -0.15 .. 0.15   relative size change, 0.1 = 10 % larger
jaw_open     0..1     0 .. 1          inner-lip gap; 0 = lips touching, 1 = the widest
                                      opening of ordinary speech (``JAW_FULL_GAP``)
lip_round    0..1     0 .. 1          lips rounded and pushed forward (o, u, w)
lip_spread   0..1     0 .. 1          lips stretched sideways (i, e)
lip_press    0..1     0 .. 1          lips pressed shut (p, b, m); overrides jaw_open
lip_tuck     0..1     0 .. 1          lower lip drawn up under the upper teeth (f, v)
smile        0..1     0 .. 1          mouth corners up and back, cheeks raised
frown        0..1     0 .. 1          mouth corners down
blink_left   0..1     0 .. 1          subject's left upper eyelid closing; 1 = closed
blink_right  0..1     0 .. 1          subject's right upper eyelid closing
brow_raise   0..1     0 .. 1          both brows up (surprise, emphasis)
brow_furrow  0..1     0 .. 1          brows down and together (anger, concentration)
===========  =======  ==============  ====================================================

How wide jaw_open = 1 is (one place for the training targets of ``train/visemes.py``, the
renderer's blendshape scale and the presets' ``lips``): the inner-lip gap of the loudest
open vowels of conversational speech, about 15 mm. In the face's own units that is
``JAW_FULL_GAP`` = 0.17 outer eye-corner distances (33-263, about 90 mm in adults), and
about 0.085 of the face height that MediaPipe's mesh spans from landmark 10 to 152 (about
1.8 eye spans on frontal faces). Anatomy behind it: lips part about 5-15 mm in
conversational speech and up to about 15-20 mm on stressed open vowels (lip-aperture
studies of vowels, e.g. Fromkin 1964, "Lip positions in American English vowels"), while
the maximal mouth opening is 40-55 mm between the incisors (clinical norms). So the viseme
table's open vowels (0.85-0.95) open about 13-14 mm, /i/ and /u/ (about 0.2) 3-4 mm, and
a scream (40 mm and more) is out of the range; presets with ``lips`` above 1 saturate at
this opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

EXPRESSION_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("jaw_open", "0..1", 0.0, 1.0, "inner-lip gap, 0 = lips touching"),
    ParamSpec("lip_round", "0..1", 0.0, 1.0, "lips rounded forward (o, u, w)"),
    ParamSpec("lip_spread", "0..1", 0.0, 1.0, "lips stretched sideways (i, e)"),
    ParamSpec("lip_press", "0..1", 0.0, 1.0, "lips pressed shut (p, b, m)"),
    ParamSpec("lip_tuck", "0..1", 0.0, 1.0, "lower lip under the upper teeth (f, v)"),
    ParamSpec("smile", "0..1", 0.0, 1.0, "mouth corners up, cheeks raised"),
    ParamSpec("frown", "0..1", 0.0, 1.0, "mouth corners down"),
    ParamSpec("blink_left", "0..1", 0.0, 1.0, "subject's left upper lid, 1 = closed"),
    ParamSpec("blink_right", "0..1", 0.0, 1.0, "subject's right upper lid, 1 = closed"),
    ParamSpec("brow_raise", "0..1", 0.0, 1.0, "brows up"),
    ParamSpec("brow_furrow", "0..1", 0.0, 1.0, "brows down and together"),
)

PARAM_SPECS: tuple[ParamSpec, ...] = POSE_SPECS + EXPRESSION_SPECS
PARAM_NAMES: tuple[str, ...] = tuple(s.name for s in PARAM_SPECS)
NUM_PARAMS = len(PARAM_SPECS)  # D = 17
POSE_SLICE = slice(0, len(POSE_SPECS))
EXPRESSION_SLICE = slice(len(POSE_SPECS), NUM_PARAMS)
ROTATION_SLICE = slice(0, 3)  # pitch, yaw, roll
LIP_NAMES = ("jaw_open", "lip_round", "lip_spread", "lip_press", "lip_tuck")
BLINK_NAMES = ("blink_left", "blink_right")
BROW_NAMES = ("brow_raise", "brow_furrow")
EMOTION_EXPRESSION_NAMES = ("smile", "frown")

# Inner-lip gap at jaw_open = 1 in outer eye-corner distances (see the module doc).
JAW_FULL_GAP = 0.17

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

"""Apple ARKit's face vocabulary, and how moda's joint motion space maps onto it.

ARKit's 52 face blendshapes (``ARFaceAnchor.BlendShapeLocation``) are the expression
vocabulary that face-capture apps (Live Link Face), MetaHuman, Blender add-ons, VRM tools
and game engines share. Each is a coefficient 0..1: 0 the neutral face, 1 the full action
of that shape. Names are Apple's lowerCamel (``eyeBlinkLeft``); Live Link Face's CSV
writes them in UpperCamel (``EyeBlinkLeft``, ``upper_camel``). Left and Right are
the subject's own sides, as in moda (``blink_left`` is the subject's left eye, on the
image's right).

Beside the blendshapes: the head pose (yaw, pitch, roll in degrees; shift and scale in
moda's own units, since ARKit gives the head as a transform in metres, which a photo has
no scale for) and per-eye gaze (yaw, pitch, roll in degrees).

moda renders 11 expression coefficients today (``params.py``). ``LINKS`` maps each of
them onto the ARKit shapes that carry the same action, both ways:

* moda -> ARKit (``to_arkit``): each linked shape is ``gain`` x the coefficient;
  ``mouthClose`` is ``lip_press`` x ``jawOpen``, since in ARKit pressed lips over an open
  jaw are jawOpen with mouthClose as large, where moda's ``lip_press`` overrides the jaw.
* ARKit -> moda (``from_arkit``): each coefficient is the mean (or the max) of its shapes
  divided by their gains; ``lip_press`` is also read from ``mouthClose / jawOpen``.
  moda -> ARKit -> moda gives back the same values.

Scale: ARKit's 1.0 is the full action. moda's expressions are 1.0 at their full action
too, except ``jaw_open``, whose 1.0 is the widest opening of ordinary speech (about
15 mm between the lips, ``params.py``) where ARKit's ``jawOpen`` 1.0 is the jaw fully
open (taken as 45 mm, the middle of the 40-55 mm clinical norm of maximal opening): so
``jawOpen = jaw_open * 15 / 45`` and a phone's ``jawOpen`` above 1/3 saturates moda's
speech-sized mouth.

The ARKit shapes and gaze that no link names (``NOT_RENDERED``) are part of the
vocabulary but not rendered yet: a motion file read for a render carries them on to the
motion file it writes (``ArkitFrames.carry``); sampled motion has them at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .params import EXPRESSION_SLICE, NUM_PARAMS, index


def upper_camel(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft``, as Live Link Face's CSV names a channel."""
    return name[0].upper() + name[1:]


@dataclass(frozen=True)
class BlendShape:
    name: str  # Apple's lowerCamel, e.g. "eyeBlinkLeft"
    doc: str  # what 1.0 means


# Apple's documented order: left eye, right eye, mouth and jaw, brows, cheeks and nose,
# tongue.
BLENDSHAPES: tuple[BlendShape, ...] = (
    BlendShape("eyeBlinkLeft", "left eyelids closed"),
    BlendShape("eyeLookDownLeft", "left eye looks down (lids follow)"),
    BlendShape("eyeLookInLeft", "left eye looks towards the nose"),
    BlendShape("eyeLookOutLeft", "left eye looks away from the nose"),
    BlendShape("eyeLookUpLeft", "left eye looks up (lids follow)"),
    BlendShape("eyeSquintLeft", "lower left lid raised, eye narrowed"),
    BlendShape("eyeWideLeft", "left eye wide open, upper lid raised"),
    BlendShape("eyeBlinkRight", "right eyelids closed"),
    BlendShape("eyeLookDownRight", "right eye looks down (lids follow)"),
    BlendShape("eyeLookInRight", "right eye looks towards the nose"),
    BlendShape("eyeLookOutRight", "right eye looks away from the nose"),
    BlendShape("eyeLookUpRight", "right eye looks up (lids follow)"),
    BlendShape("eyeSquintRight", "lower right lid raised, eye narrowed"),
    BlendShape("eyeWideRight", "right eye wide open, upper lid raised"),
    BlendShape("jawForward", "jaw pushed forward"),
    BlendShape("jawLeft", "jaw moved to the left"),
    BlendShape("jawRight", "jaw moved to the right"),
    BlendShape("jawOpen", "jaw fully open (about 45 mm between the incisors)"),
    BlendShape("mouthClose", "lips closed whatever the jaw (used with jawOpen)"),
    BlendShape("mouthFunnel", "lips flared into an open O"),
    BlendShape("mouthPucker", "lips pursed, narrowed and pushed forward"),
    BlendShape("mouthLeft", "both lips moved to the left"),
    BlendShape("mouthRight", "both lips moved to the right"),
    BlendShape("mouthSmileLeft", "left mouth corner up and back"),
    BlendShape("mouthSmileRight", "right mouth corner up and back"),
    BlendShape("mouthFrownLeft", "left mouth corner down"),
    BlendShape("mouthFrownRight", "right mouth corner down"),
    BlendShape("mouthDimpleLeft", "left mouth corner drawn back, dimpling"),
    BlendShape("mouthDimpleRight", "right mouth corner drawn back, dimpling"),
    BlendShape("mouthStretchLeft", "left mouth corner stretched sideways"),
    BlendShape("mouthStretchRight", "right mouth corner stretched sideways"),
    BlendShape("mouthRollLower", "lower lip rolled in over the teeth"),
    BlendShape("mouthRollUpper", "upper lip rolled in over the teeth"),
    BlendShape("mouthShrugLower", "lower lip pushed up (chin raised)"),
    BlendShape("mouthShrugUpper", "upper lip pushed up"),
    BlendShape("mouthPressLeft", "lips pressed together on the left"),
    BlendShape("mouthPressRight", "lips pressed together on the right"),
    BlendShape("mouthLowerDownLeft", "lower lip pulled down on the left"),
    BlendShape("mouthLowerDownRight", "lower lip pulled down on the right"),
    BlendShape("mouthUpperUpLeft", "upper lip raised on the left"),
    BlendShape("mouthUpperUpRight", "upper lip raised on the right"),
    BlendShape("browDownLeft", "outer left brow down"),
    BlendShape("browDownRight", "outer right brow down"),
    BlendShape("browInnerUp", "inner ends of both brows up"),
    BlendShape("browOuterUpLeft", "outer left brow up"),
    BlendShape("browOuterUpRight", "outer right brow up"),
    BlendShape("cheekPuff", "both cheeks puffed out"),
    BlendShape("cheekSquintLeft", "left cheek raised, lower lid pushed up"),
    BlendShape("cheekSquintRight", "right cheek raised, lower lid pushed up"),
    BlendShape("noseSneerLeft", "left nostril and side of the nose raised"),
    BlendShape("noseSneerRight", "right nostril and side of the nose raised"),
    BlendShape("tongueOut", "tongue out"),
)
BLENDSHAPE_NAMES: tuple[str, ...] = tuple(b.name for b in BLENDSHAPES)
NUM_BLENDSHAPES = len(BLENDSHAPES)  # 52


@dataclass(frozen=True)
class PoseChannel:
    name: str
    unit: str
    doc: str


HEAD_CHANNELS: tuple[PoseChannel, ...] = (
    PoseChannel("headYaw", "deg", "turn, positive = towards the image's right"),
    PoseChannel("headPitch", "deg", "nod, positive = chin down"),
    PoseChannel("headRoll", "deg", "tilt, positive = counter-clockwise in the image"),
    PoseChannel("headTx", "face", "horizontal shift in face-box widths (moda's tx)"),
    PoseChannel("headTy", "face", "vertical shift in face-box widths (moda's ty)"),
    PoseChannel("headScale", "ratio", "relative size change (moda's scale)"),
)
GAZE_CHANNELS: tuple[PoseChannel, ...] = tuple(
    PoseChannel(f"{eye}Eye{axis}", "deg", f"{eye} eye's {axis.lower()}")
    for eye in ("left", "right")
    for axis in ("Yaw", "Pitch", "Roll")
)

JAW_SPEECH_MM = 15.0  # moda's jaw_open = 1 (``params.JAW_FULL_GAP``, in millimetres)
JAW_FULL_MM = 45.0  # ARKit's jawOpen = 1: maximal opening, middle of the 40-55 mm norm
JAW_GAIN = JAW_SPEECH_MM / JAW_FULL_MM  # jawOpen per unit of jaw_open
# Below this jawOpen (1.5 mm of opening) mouthClose / jawOpen is noise, not a press.
CLOSE_MIN_JAW = 1.5 / JAW_FULL_MM


@dataclass(frozen=True)
class Link:
    """One moda coefficient and the ARKit shapes that carry its action.

    shapes: (ARKit name, gain) pairs: the shape is gain x the coefficient;
    inverse: how the coefficient is read back from its shapes (each divided by its gain).
    """

    moda: str
    shapes: tuple[tuple[str, float], ...]
    inverse: Literal["mean", "max"]
    note: str = ""


LINKS: tuple[Link, ...] = (
    Link(
        "jaw_open",
        (("jawOpen", JAW_GAIN),),
        "mean",
        "jaw_open 1 is speech's widest opening, a third of the jaw's full opening",
    ),
    Link(
        "lip_round",
        (("mouthPucker", 1.0), ("mouthFunnel", 0.5)),
        "max",
        "one rounding in moda; ARKit's O is pucker with some funnel",
    ),
    Link("lip_spread", (("mouthStretchLeft", 1.0), ("mouthStretchRight", 1.0)), "mean"),
    Link(
        "lip_press",
        (("mouthPressLeft", 1.0), ("mouthPressRight", 1.0)),
        "mean",
        "also mouthClose = lip_press x jawOpen, and read back from mouthClose / jawOpen",
    ),
    Link("lip_tuck", (("mouthRollLower", 1.0),), "mean"),
    Link("smile", (("mouthSmileLeft", 1.0), ("mouthSmileRight", 1.0)), "mean"),
    Link("frown", (("mouthFrownLeft", 1.0), ("mouthFrownRight", 1.0)), "mean"),
    Link("blink_left", (("eyeBlinkLeft", 1.0),), "mean"),
    Link("blink_right", (("eyeBlinkRight", 1.0),), "mean"),
    Link(
        "brow_raise",
        (("browInnerUp", 1.0), ("browOuterUpLeft", 1.0), ("browOuterUpRight", 1.0)),
        "mean",
    ),
    Link("brow_furrow", (("browDownLeft", 1.0), ("browDownRight", 1.0)), "mean"),
)

# moda's pose column, the head channel it is, and the sign between them.
HEAD_LINKS: tuple[tuple[str, str, float], ...] = (
    ("yaw", "headYaw", 1.0),
    ("pitch", "headPitch", 1.0),
    ("roll", "headRoll", -1.0),  # moda's roll is clockwise in the image, ARKit's is not
    ("tx", "headTx", 1.0),
    ("ty", "headTy", 1.0),
    ("scale", "headScale", 1.0),
)

RENDERED: frozenset[str] = frozenset(
    {name for link in LINKS for name, _ in link.shapes} | {"mouthClose"}
)
NOT_RENDERED: tuple[str, ...] = tuple(n for n in BLENDSHAPE_NAMES if n not in RENDERED) + tuple(
    g.name for g in GAZE_CHANNELS
)

_SHAPE = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
_HEAD = {c.name: i for i, c in enumerate(HEAD_CHANNELS)}
_UNRENDERED_SHAPES = [i for i, name in enumerate(BLENDSHAPE_NAMES) if name not in RENDERED]


@dataclass
class ArkitFrames:
    """Motion in ARKit's vocabulary, one row per frame.

    blendshapes: (T, 52) 0..1 in ``BLENDSHAPE_NAMES`` order
    head:        (T, 6) ``HEAD_CHANNELS``: degrees, face-box widths, ratio
    gaze:        (T, 6) ``GAZE_CHANNELS``, degrees
    """

    blendshapes: np.ndarray
    head: np.ndarray
    gaze: np.ndarray

    @property
    def unrendered(self) -> np.ndarray:
        """(T, len(NOT_RENDERED)) the channels moda does not render, in that order."""
        return np.hstack([self.blendshapes[:, _UNRENDERED_SHAPES], self.gaze])

    def carry(self, values: np.ndarray) -> None:
        """Set the channels moda does not render to (T, len(NOT_RENDERED)) ``values``
        (a motion file's, carried on to the file a render writes)."""
        count = len(_UNRENDERED_SHAPES)
        self.blendshapes[:, _UNRENDERED_SHAPES] = values[:, :count]
        self.gaze[:] = values[:, count:]

    @staticmethod
    def zeros(frames: int) -> ArkitFrames:
        return ArkitFrames(
            np.zeros((frames, NUM_BLENDSHAPES), np.float32),
            np.zeros((frames, len(HEAD_CHANNELS)), np.float32),
            np.zeros((frames, len(GAZE_CHANNELS)), np.float32),
        )


def to_arkit(params: np.ndarray) -> ArkitFrames:
    """(T, 17) moda motion -> the same motion in ARKit's vocabulary (gaze ahead: 0)."""
    p = np.asarray(params, np.float64)
    out = ArkitFrames.zeros(len(p))
    for link in LINKS:
        for name, gain in link.shapes:
            out.blendshapes[:, _SHAPE[name]] = np.clip(gain * p[:, index(link.moda)], 0.0, 1.0)
    jaw = out.blendshapes[:, _SHAPE["jawOpen"]]
    out.blendshapes[:, _SHAPE["mouthClose"]] = jaw * np.clip(p[:, index("lip_press")], 0.0, 1.0)
    for moda, head, sign in HEAD_LINKS:
        out.head[:, _HEAD[head]] = sign * p[:, index(moda)]
    return out


def from_arkit(frames: ArkitFrames) -> np.ndarray:
    """ARKit motion -> (T, 17) float32 moda motion, expressions clipped to 0..1.

    The shapes in ``NOT_RENDERED`` and the gaze are not read: moda cannot show them yet.
    """
    shapes = np.asarray(frames.blendshapes, np.float64)
    out = np.zeros((len(shapes), NUM_PARAMS), np.float64)
    for link in LINKS:
        values = np.stack([shapes[:, _SHAPE[n]] / g for n, g in link.shapes], axis=1)
        out[:, index(link.moda)] = values.max(1) if link.inverse == "max" else values.mean(1)
    jaw, close = shapes[:, _SHAPE["jawOpen"]], shapes[:, _SHAPE["mouthClose"]]
    closed = np.where(jaw >= CLOSE_MIN_JAW, close / np.maximum(jaw, CLOSE_MIN_JAW), 0.0)
    press = index("lip_press")
    out[:, press] = np.maximum(out[:, press], closed)
    out[:, EXPRESSION_SLICE] = np.clip(out[:, EXPRESSION_SLICE], 0.0, 1.0)
    head = np.asarray(frames.head, np.float64)
    for moda, name, sign in HEAD_LINKS:
        out[:, index(moda)] = sign * head[:, _HEAD[name]]
    return out.astype(np.float32)

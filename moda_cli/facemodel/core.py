"""The core channels: the compact actions speech and the motion prior are written in.

The joint space (``params.py``) has 58 channels: the head pose and ARKit's 52
blendshapes. The core has 17: the same pose and 11 expression coefficients, each ONE
action that ARKit spreads over several shapes (a smile is mouthSmileLeft and
mouthSmileRight, a brow raise browInnerUp and both browOuterUp). The data generator's
viseme table, prior and blinks (``motion/train``), the baseline generator and the given
channels of a request (a pose reference, a dubbed video's mouth) are made in it, because
speech and its accompanying motion drive these few actions together; ``lift`` puts them
into the joint space, where the training targets gain the emotions' facial actions and
the motion model samples all 58 (``motion/generate.py``).

``lower`` reads joint motion back as core channels (the dub's mouth model is the core's).
A lifted row renders exactly as the core row did before the joint space: each linked
shape is ``gain`` x its coefficient (``LINKS``), and the renderer's fields of linked
shapes add up to the core coefficient's field.

=============  ==============================================  ========================
core           joint (ARKit) shapes                            note
=============  ==============================================  ========================
jaw_open       jawOpen x JAW_GAIN                              speech scale, below
lip_round      mouthPucker                                     mouthFunnel is its own
lip_spread     mouthStretchLeft, mouthStretchRight
lip_press      mouthPressLeft, mouthPressRight; mouthClose     mouthClose = lip_press
                                                               x jawOpen
lip_tuck       mouthRollLower
smile          mouthSmileLeft, mouthSmileRight
frown          mouthFrownLeft, mouthFrownRight
blink_left     eyeBlinkLeft
blink_right    eyeBlinkRight
brow_raise     browInnerUp, browOuterUpLeft, browOuterUpRight
brow_furrow    browDownLeft, browDownRight
=============  ==============================================  ========================

How wide jaw_open = 1 is (one place for the training targets of ``train/visemes.py``, the
renderer's lip gap and the presets' ``lips``): the inner-lip gap of the loudest open
vowels of conversational speech, about 15 mm. In the face's own units that is
``JAW_FULL_GAP`` = 0.17 outer eye-corner distances (33-263, about 90 mm in adults), and
about 0.085 of the face height that MediaPipe's mesh spans from landmark 10 to 152 (about
1.8 eye spans on frontal faces). Anatomy behind it: lips part about 5-15 mm in
conversational speech and up to about 15-20 mm on stressed open vowels (lip-aperture
studies of vowels, e.g. Fromkin 1964, "Lip positions in American English vowels"), while
the maximal mouth opening is 40-55 mm between the incisors (clinical norms). So the viseme
table's open vowels (0.85-0.95) open about 13-14 mm, /i/ and /u/ (about 0.2) 3-4 mm, and
a scream (40 mm and more) is out of the range; presets with ``lips`` above 1 saturate at
this opening. ARKit's jawOpen 1.0 is the jaw fully open (taken as 45 mm, the middle of
the clinical norm), so ``jawOpen = jaw_open * 15 / 45`` (``JAW_GAIN``) and a phone's
jawOpen above 1/3 saturates the speech-sized mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import NUM_PARAMS, POSE_SLICE, POSE_SPECS, ParamSpec, indices

CORE_EXPRESSION_SPECS: tuple[ParamSpec, ...] = (
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
CORE_SPECS: tuple[ParamSpec, ...] = POSE_SPECS + CORE_EXPRESSION_SPECS
CORE_NAMES: tuple[str, ...] = tuple(s.name for s in CORE_SPECS)
CORE_EXPRESSION_NAMES: tuple[str, ...] = tuple(s.name for s in CORE_EXPRESSION_SPECS)
NUM_CORE = len(CORE_SPECS)  # 17
CORE_LOW = np.array([s.low for s in CORE_SPECS], dtype=np.float32)
CORE_HIGH = np.array([s.high for s in CORE_SPECS], dtype=np.float32)
LIP_NAMES = ("jaw_open", "lip_round", "lip_spread", "lip_press", "lip_tuck")
BLINK_NAMES = ("blink_left", "blink_right")
BROW_NAMES = ("brow_raise", "brow_furrow")
EMOTION_EXPRESSION_NAMES = ("smile", "frown")

# Inner-lip gap at jaw_open = 1 in outer eye-corner distances (see the module doc).
JAW_FULL_GAP = 0.17
JAW_SPEECH_MM = 15.0  # jaw_open = 1 (``JAW_FULL_GAP``, in millimetres)
JAW_FULL_MM = 45.0  # ARKit's jawOpen = 1: maximal opening, middle of the 40-55 mm norm
JAW_GAIN = JAW_SPEECH_MM / JAW_FULL_MM  # jawOpen per unit of jaw_open
# Below this jawOpen (1.5 mm of opening) mouthClose / jawOpen is noise, not a press.
CLOSE_MIN_JAW = 1.5 / JAW_FULL_MM


def core_index(name: str) -> int:
    """Column of a core channel by name; raises KeyError naming the valid names."""
    try:
        return CORE_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown core channel {name!r}; valid: {', '.join(CORE_NAMES)}") from None


def core_indices(names: tuple[str, ...]) -> list[int]:
    return [core_index(n) for n in names]


@dataclass(frozen=True)
class Link:
    """One core coefficient and the ARKit shapes that carry its action: each shape is
    ``gain`` x the coefficient."""

    core: str
    shapes: tuple[str, ...]
    gain: float = 1.0


LINKS: tuple[Link, ...] = (
    Link("jaw_open", ("jawOpen",), JAW_GAIN),
    Link("lip_round", ("mouthPucker",)),
    Link("lip_spread", ("mouthStretchLeft", "mouthStretchRight")),
    Link("lip_press", ("mouthPressLeft", "mouthPressRight")),
    Link("lip_tuck", ("mouthRollLower",)),
    Link("smile", ("mouthSmileLeft", "mouthSmileRight")),
    Link("frown", ("mouthFrownLeft", "mouthFrownRight")),
    Link("blink_left", ("eyeBlinkLeft",)),
    Link("blink_right", ("eyeBlinkRight",)),
    Link("brow_raise", ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")),
    Link("brow_furrow", ("browDownLeft", "browDownRight")),
)

_POSE = list(range(POSE_SLICE.stop))
# Every linked (joint column, core column, gain), as index arrays for one vectorised lift.
_PAIRS = [(j, core_index(k.core), k.gain) for k in LINKS for j in indices(k.shapes)]
_TO, _FROM = [p[0] for p in _PAIRS], [p[1] for p in _PAIRS]
_GAIN = np.array([p[2] for p in _PAIRS])
_JAW, _CLOSE = indices(("jawOpen", "mouthClose"))
_PRESS_SHAPES = indices(("mouthPressLeft", "mouthPressRight"))
_CORE_JAW, _CORE_PRESS = core_indices(("jaw_open", "lip_press"))
# (58, 17) bool: the core channels each joint column is made of.
_DEPENDS = np.zeros((NUM_PARAMS, NUM_CORE), bool)
_DEPENDS[_POSE, _POSE] = True
_DEPENDS[_TO, _FROM] = True
_DEPENDS[_CLOSE, [_CORE_JAW, _CORE_PRESS]] = True


def linked_columns(names: tuple[str, ...]) -> list[int]:
    """The joint columns of the shapes that carry the core actions ``names`` (``LINKS``)."""
    return [j for k in LINKS if k.core in names for j in indices(k.shapes)]


def lip_press(press: np.ndarray, close: np.ndarray, jaw: np.ndarray) -> np.ndarray:
    """The core lip_press of joint values (any shape, float64): the larger of the mean of
    mouthPressLeft/Right (``press``) and mouthClose / jawOpen (ARKit's lips held shut over
    an open jaw), which is noise below CLOSE_MIN_JAW of jawOpen."""
    closed = np.where(jaw >= CLOSE_MIN_JAW, close / np.maximum(jaw, CLOSE_MIN_JAW), 0.0)
    return np.maximum(press, closed)


def lift(core: np.ndarray) -> np.ndarray:
    """(..., 17) core motion -> (..., 58) float32 joint motion (``LINKS``; mouthClose =
    jawOpen x lip_press clipped to 0..1). Not clipped otherwise: the finish stage clips
    after it reads the blinks as sampled, as it did in the core."""
    c = np.asarray(core, np.float64)
    out = np.zeros((*c.shape[:-1], NUM_PARAMS))
    out[..., _POSE] = c[..., _POSE]
    out[..., _TO] = _GAIN * c[..., _FROM]
    out[..., _CLOSE] = out[..., _JAW] * np.clip(c[..., _CORE_PRESS], 0.0, 1.0)
    return out.astype(np.float32)


def lower(joint: np.ndarray) -> np.ndarray:
    """(..., 58) joint motion -> (..., 17) float32 core motion, expressions clipped to
    0..1: each coefficient the mean of its shapes over their gain, lip_press ``lip_press``.
    The shapes no link names are not read. lower(lift(x)) gives back x (clipped)."""
    j = np.asarray(joint, np.float64)
    out = np.zeros((*j.shape[:-1], NUM_CORE))
    out[..., _POSE] = j[..., _POSE]
    for link in LINKS:
        out[..., core_index(link.core)] = j[..., indices(link.shapes)].mean(-1) / link.gain
    out[..., _CORE_PRESS] = lip_press(out[..., _CORE_PRESS], j[..., _CLOSE], j[..., _JAW])
    out[..., POSE_SLICE.stop :] = np.clip(out[..., POSE_SLICE.stop :], 0.0, 1.0)
    return out.astype(np.float32)


def lift_mask(mask: np.ndarray) -> np.ndarray:
    """(..., 17) bool of given core channels -> (..., 58) bool: the joint columns made
    only of given channels (a shape no link names is never given)."""
    missing = (~np.asarray(mask, bool)).astype(np.float32) @ _DEPENDS.T.astype(np.float32)
    return (missing == 0) & _DEPENDS.any(axis=1)


def with_given(joint: np.ndarray, given: np.ndarray) -> np.ndarray:
    """(..., 58) joint rows with the core channels ``given`` (..., 17, NaN where not
    given) put back: the joint columns made only of given channels take their lift."""
    lifted = lift(np.nan_to_num(given))
    return np.where(lift_mask(np.isfinite(given)), lifted, joint).astype(np.float32)

"""Emotions as facial action units (FACS) in ARKit's 52 blendshapes.

One table, used twice: the training data adds it to every clip's rows for the clip's
emotion mixture (``train/clip.py``), so the motion model learns to draw each emotion, and
the baseline generator adds it as a layer over its motion (``finish.Layers``).

Each emotion is a set of action units (Ekman & Friesen's FACS; the prototypes of the
EMFACS tables), each AU a set of ARKit shapes (``ACTION_UNITS``):

| AU | action | ARKit shapes (x weight) |
| --- | --- | --- |
| 1 | inner brow raiser | browInnerUp |
| 2 | outer brow raiser | browOuterUpLeft/Right |
| 4 | brow lowerer (down and together) | browDownLeft/Right |
| 5 | upper lid raiser | eyeWideLeft/Right |
| 6 | cheek raiser | cheekSquintLeft/Right, eyeSquintLeft/Right x 0.3 (the lower lid rides up) |
| 7 | lid tightener | eyeSquintLeft/Right |
| 9 | nose wrinkler | noseSneerLeft/Right |
| 10 | upper lip raiser | mouthUpperUpLeft/Right |
| 12 | lip corner puller | mouthSmileLeft/Right |
| 14 | dimpler | mouthDimpleLeft/Right |
| 15 | lip corner depressor | mouthFrownLeft/Right |
| 16 | lower lip depressor | mouthLowerDownLeft/Right |
| 20 | lip stretcher | mouthStretchLeft/Right |
| 23 | lip tightener | mouthPressLeft/Right (ARKit has no tightener apart from the press) |
| 26 | jaw drop | jawOpen |

and the emotions (``EMOTION_AUS``, intensity 1): happiness 6+12; sadness 1+4+15;
surprise 1+2+5+26; fear 1+2+4+5+20; anger 4+5+7+23; disgust 9+10+15+16; contempt 12+14 on
the subject's left side only; neutral none. Mixtures add, clipped to 0..1.

Lip sync comes first: the speech channels (``SPEECH_SHAPES``: jawOpen, mouthClose,
mouthPress, mouthPucker, mouthFunnel, mouthRollLower) stay the model's, except two
documented additions that cannot open lips the model closed:

* surprise's jaw drop is a small bias on jawOpen (``JAW_DROP``: 2.7 mm of jaw, lips at
  rest part by about 2 mm) and mouthClose grows with it at the ratio mouthClose / jawOpen
  the model had, so a press over the jaw (every p, b, m of the model) stays a press;
* anger's lip tightening adds to mouthPress only up to where the renderer's lip gap starts
  to seal (``basis.PRESS_SEAL[0]``): the lips thin, no opening of speech is shut, and
  a press the model made stays as it was.

The shapes that part the lips (mouthUpperUp, mouthLowerDown, and noseSneer, whose field
lifts the upper lip with the nose's wing: measured on the sample portrait, disgust left
the lips 3 mm apart on the model's presses) give way where the model seals them (a p, b
or m), so disgust's raised upper lip closes on every bilabial.

In time, each emotion of the mixture eases in over ``ONSET_S`` at the clip's start (a face
settles into an expression, it does not start in one) and then breathes: its intensity
wanders slowly by about +-``VARIATION`` (band-limited noise of ~``VARIATION_S``), so the
face is not a frozen mask. A seed fixes the curves.
"""

from __future__ import annotations

import numpy as np

from ..facemodel.arkit import BLENDSHAPE_NAMES, NUM_BLENDSHAPES
from ..facemodel.basis import PRESS_SEAL
from ..facemodel.core import lip_press
from ..facemodel.emotions import EMOTIONS, EmotionMix
from .prior import band_noise

ONSET_S = 0.6  # the expression eases in over this at the clip's start
VARIATION = 0.12  # slow relative wander of each emotion's intensity (std)
VARIATION_S = 1.5  # its time scale (band_noise's sigma, seconds)
JAW_DROP = 0.06  # surprise's AU26 in jawOpen: 2.7 mm of a 45 mm jaw (core.JAW_FULL_MM)
_STREAM = 0x45  # the layer's own random stream beside the seed ('E')


def _both(stem: str, weight: float = 1.0) -> dict[str, float]:
    return {f"{stem}Left": weight, f"{stem}Right": weight}


ACTION_UNITS: dict[int, dict[str, float]] = {
    1: {"browInnerUp": 1.0},
    2: _both("browOuterUp"),
    4: _both("browDown"),
    5: _both("eyeWide"),
    6: {**_both("cheekSquint"), **_both("eyeSquint", 0.3)},
    7: _both("eyeSquint"),
    9: _both("noseSneer"),
    10: _both("mouthUpperUp"),
    12: _both("mouthSmile"),
    14: _both("mouthDimple"),
    15: _both("mouthFrown"),
    16: _both("mouthLowerDown"),
    20: _both("mouthStretch"),
    23: _both("mouthPress"),
    26: {"jawOpen": 1.0},
}

# Each emotion at intensity 1: (AU, strength 0..1, side); side "left" keeps only the
# subject's left shapes of a bilateral AU (contempt is one-sided).
EMOTION_AUS: dict[str, tuple[tuple[int, float, str], ...]] = {
    "anger": ((4, 1.0, "both"), (5, 0.15, "both"), (7, 0.9, "both"), (23, 0.6, "both")),
    "contempt": ((12, 0.6, "left"), (14, 0.7, "left")),
    "disgust": ((9, 0.8, "both"), (10, 0.5, "both"), (15, 0.35, "both"), (16, 0.2, "both")),
    "fear": (
        (1, 1.0, "both"),
        (2, 1.0, "both"),
        (4, 0.5, "both"),
        (5, 0.8, "both"),
        (20, 0.6, "both"),
    ),
    "happiness": ((6, 0.6, "both"), (12, 0.75, "both")),
    "neutral": (),
    "sadness": ((1, 1.0, "both"), (4, 0.1, "both"), (15, 0.7, "both")),
    "surprise": ((1, 0.9, "both"), (2, 0.9, "both"), (5, 0.7, "both"), (26, JAW_DROP, "both")),
}
assert set(EMOTION_AUS) == set(EMOTIONS)

SPEECH_SHAPES = (
    "jawOpen",
    "mouthClose",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthFunnel",
    "mouthRollLower",
)
_COL = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
_FREE = [i for i, n in enumerate(BLENDSHAPE_NAMES) if n not in SPEECH_SHAPES]
_PARTING = [
    _COL[n] for n in (*_both("mouthUpperUp"), *_both("mouthLowerDown"), *_both("noseSneer"))
]
_PRESS = [_COL["mouthPressLeft"], _COL["mouthPressRight"]]
_JAW, _CLOSE = _COL["jawOpen"], _COL["mouthClose"]


def emotion_vector(emotion: str) -> np.ndarray:
    """(52,) ARKit coefficients of ``emotion`` at intensity 1 (``EMOTION_AUS``)."""
    out = np.zeros(NUM_BLENDSHAPES)
    for au, strength, side in EMOTION_AUS[emotion]:
        for name, weight in ACTION_UNITS[au].items():
            if side == "both" or not name.endswith("Right"):
                out[_COL[name]] += strength * weight
    return out


def emotion_curves(mix: EmotionMix, num_frames: int, fps: float, seed: int) -> np.ndarray:
    """(T, 52) float32 the mixture's ARKit coefficients per frame, clipped to 0..1: each
    emotion eased in at the start and wandering slowly (the module's doc)."""
    rng = np.random.default_rng((seed, _STREAM))
    t = (np.arange(num_frames) + 0.5) / fps
    x = np.clip(t / ONSET_S, 0.0, 1.0)
    onset = x * x * x * (x * (6 * x - 15) + 10)  # smootherstep: no jerk at either end
    out = np.zeros((num_frames, NUM_BLENDSHAPES))
    for label in EMOTIONS:  # a fixed order: the same label draws the same noise in any mix
        noise = band_noise(num_frames, fps, VARIATION_S, rng)[:, 0]
        wander = 1.0 + VARIATION * np.clip(noise, -2.0, 2.0)
        if mix.get(label, 0.0) > 0.0:
            out += (mix[label] * onset * wander)[:, None] * emotion_vector(label)[None]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def apply_emotion(shapes: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """(n, 52) ARKit rows with (n, 52) ``emotion_curves`` rows added, lip sync kept (the
    module's doc): float32, 0..1."""
    out = np.asarray(shapes, np.float64).copy()
    layer = np.asarray(curves, np.float64)
    low, high = PRESS_SEAL
    jaw, close = out[:, _JAW], out[:, _CLOSE]
    ratio = np.minimum(lip_press(np.zeros(len(out)), close, jaw), 1.0)  # mouthClose / jawOpen
    seal = np.clip((np.maximum(out[:, _PRESS].mean(axis=1), ratio) - low) / (high - low), 0, 1)
    add = layer.copy()
    add[:, _PARTING] *= (1.0 - seal)[:, None]
    out[:, _FREE] += add[:, _FREE]
    # Jaw drop: mouthClose keeps its ratio to jawOpen, so a press over the jaw holds.
    out[:, _JAW] += layer[:, _JAW]
    out[:, _CLOSE] = np.maximum(out[:, _CLOSE], ratio * out[:, _JAW])
    # Lip tightening thins the lips up to where the gap starts to seal, never past it.
    press = out[:, _PRESS]
    tightened = np.minimum(press + layer[:, _PRESS], low)
    out[:, _PRESS] = np.maximum(press, tightened)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
